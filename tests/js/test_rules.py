"""Every rule of amprelay.js against Node's answers (recorded by dev/js_record.py), plus
properties that hold for any input."""

from __future__ import annotations

import json
import math
import pickle
import struct
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from amprelay import js

NODE = json.loads((Path(__file__).parent / "data" / "node_answers.json").read_text())


def _double(bits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(bits))[0]


def _same_double(a: float, b: float) -> bool:
    return (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def test_recorded_with_node_20():
    assert NODE["node"].startswith("v20.")


def test_number_to_string_matches_node():
    wrong = [(h, text) for h, text in NODE["number_to_string"] if js.number_to_string(_double(h)) != text]
    assert wrong == []


def test_number_to_string_of_integers_matches_the_double_node_holds():
    for h, text in NODE["number_to_string"]:
        x = _double(h)
        if x == x and not math.isinf(x) and x.is_integer():
            assert js.number_to_string(int(x)) == text


def test_string_to_number_matches_node():
    wrong = [(s, h) for s, h in NODE["string_to_number"] if not _same_double(js.string_to_number(s), _double(h))]
    assert wrong == []


def test_trim_matches_node():
    assert [(s, t) for s, t in NODE["string_trim"] if js.trim(s) != t] == []


def test_utf16_length_matches_node():
    for s, length in NODE["utf16_length"]:
        assert js.utf16_len(s) == length
        assert len(js.utf16_units(s)) == length


def test_truthy_matches_node():
    assert [(v, b) for v, b in NODE["truthy"] if js.truthy(v) is not b] == []


def test_to_string_matches_node():
    assert [(v, s) for v, s in NODE["to_string"] if js.to_string(v) != s] == []


def test_real_type_of_matches_node():
    assert [(v, t) for v, t in NODE["real_type_of"] if js.real_type_of(v) != t] == []


def test_json_stringify_matches_node():
    assert [(v, s) for v, s in NODE["stringify"] if js.json_stringify(v) != s] == []


def test_keys_in_order_matches_node():
    for pairs, keys in NODE["keys_in_order"]:
        obj = dict(pairs)
        assert js.keys_in_order(obj) == keys
        assert list(js.with_key_order(obj)) == keys


def test_round_half_up_matches_node():
    # the sign of a zero is not kept (Math.round(-0.4) is -0; JSON.stringify writes both as 0)
    for h, r in NODE["round_half_up"]:
        got, want = float(js.round_half_up(_double(h))), _double(r)
        assert got == want or (got != got and want != want), h


def test_prototype_tables_match_node():
    assert js.PROTOTYPES == NODE["prototypes"]
    assert js.FUNCTION_NAMES == NODE["function_names"]


# --- properties that need no oracle ---------------------------------------------------------

@given(st.floats(allow_nan=False, allow_infinity=False))
@example(5e-324)
@example(1e21)
@example(-1e-7)
def test_number_to_string_round_trips_through_string_to_number(x):
    assert _same_double(js.string_to_number(js.number_to_string(x)), x) or x == 0


@given(st.integers())
def test_integers_are_written_as_the_double_node_holds(n):
    expected = js.number_to_string(float(n)) if abs(n) < 2**1000 else None
    text = js.number_to_string(n)
    if expected is not None:
        assert text == expected
    if abs(n) <= js.MAX_SAFE_INTEGER:
        assert text == str(n)


@given(st.text())
def test_utf16_round_trip(text):
    units = js.to_utf16(text)
    assert js.from_utf16(units) == text
    assert len(units) == js.utf16_len(text)
    assert js.has_surrogates(text) == (units != text or any("\ud800" <= c <= "\udfff" for c in text))


@given(st.dictionaries(st.text(alphabet="0123456789ab", max_size=4), st.integers()))
def test_key_order_puts_indices_first_and_keeps_every_key(obj):
    keys = js.keys_in_order(obj)
    assert sorted(keys) == sorted(obj)
    indices = [k for k in keys if js.is_array_index(k)]
    assert keys[: len(indices)] == sorted(indices, key=int)
    assert js.keys_in_order(js.with_key_order(obj)) == keys


def test_undefined_is_one_falsy_singleton():
    assert js.Undefined() is js.UNDEFINED
    assert pickle.loads(pickle.dumps(js.UNDEFINED)) is js.UNDEFINED
    assert not js.UNDEFINED and not js.truthy(js.UNDEFINED)
    assert js.to_string(js.UNDEFINED) == "undefined"
    assert js.json_stringify(js.UNDEFINED) is js.UNDEFINED
    assert js.json_stringify({"a": js.UNDEFINED, "b": [js.UNDEFINED]}) == '{"b":[null]}'


def test_functions():
    f = js.JSFunction("trimStart", 0)
    assert js.to_string(f) == "function trimStart() { [native code] }"
    assert js.real_type_of(f) == "function" and js.truthy(f)
    assert js.json_round_trip({"f": f, "a": [f, math.nan]}) == {"a": [None, None]}


@pytest.mark.parametrize(
    "value,expected", [(None, 0.0), (js.UNDEFINED, math.nan), (True, 1.0), (False, 0.0), (" 12 ", 12.0), ([], math.nan)]
)
def test_to_number(value, expected):
    assert _same_double(js.to_number(value), expected)


def test_spread():
    assert js.spread("ab") == {"0": "a", "1": "b"}
    assert js.spread([7]) == {"0": 7}
    assert js.spread(3) == {} and js.spread(None) == {}
    d = {"a": 1}
    assert js.spread(d) is d


def test_normalize_number():
    assert type(js.normalize_number(3.0)) is int
    assert js.normalize_number(2.0**60) == 2.0**60 and type(js.normalize_number(2.0**60)) is float
    assert js.normalize_number(math.inf) == math.inf
