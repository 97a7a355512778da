"""JS value semantics used by the engine (expected strings produced by Node's String()/JSON.stringify)."""

from __future__ import annotations

import pytest

from amprelay.mapping.jsvalues import (
    UNDEFINED,
    js_keys,
    js_number_to_string,
    js_to_string,
    json_parse,
    json_stringify,
)

NUMBERS = [
    (0, "0"), (1, "1"), (-1, "-1"), (1.5, "1.5"), (0.1, "0.1"), (0.30000000000000004, "0.30000000000000004"),
    (1e21, "1e+21"), (1e20, "100000000000000000000"), (123456789012345680000.0, "123456789012345680000"),
    (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (0.000001, "0.000001"), (123.456, "123.456"), (-0.0001, "-0.0001"),
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (2**53, "9007199254740992"),
    (2**53 + 1, "9007199254740992"), (1e300, "1e+300"), (1.23e-18, "1.23e-18"), (0.5, "0.5"), (100.0, "100"),
    (12345678000000.0, "12345678000000"), (4.35, "4.35"), (2.5e25, "2.5e+25"), (-0.0, "0"),
]


@pytest.mark.parametrize("num,text", NUMBERS)
def test_number_to_string(num, text):
    assert js_number_to_string(num) == text


def test_to_string():
    assert js_to_string(True) == "true"
    assert js_to_string(None) == "null"
    assert js_to_string(UNDEFINED) == "undefined"
    assert js_to_string([1, None, [2, UNDEFINED], "a"]) == "1,,2,,a"
    assert js_to_string({"a": 1}) == "[object Object]"


def test_json_stringify():
    assert json_stringify(UNDEFINED) is UNDEFINED
    assert json_stringify({"b": 1.0, "1": [UNDEFINED, float("inf")], "a": UNDEFINED, "c": "é\n\x01\ud800"}) == (
        '{"1":[null,null],"b":1,"c":"é\\n\\u0001\\ud800"}')


def test_json_parse_is_strict_like_js():
    assert json_parse(' {"a": [1, 2.5]} ') == {"a": [1, 2.5]}
    for bad in ("NaN", "Infinity", "{a:1}", "'x'", ""):
        with pytest.raises(ValueError):
            json_parse(bad)
    assert json_parse("12345678901234567890") == 12345678901234567000.0


def test_js_keys_order():
    assert js_keys({"b": 1, "10": 1, "2": 1, "a": 1, "01": 1, "-1": 1}) == ["2", "10", "b", "a", "01", "-1"]
