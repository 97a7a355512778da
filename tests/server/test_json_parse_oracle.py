"""`amprelay.js.json.parse` accepts exactly what Node's `JSON.parse` accepts, and reads the same
values: checked against Node's answers recorded by dev/json_oracle.py (no Node needed here)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from amprelay.destination.request import to_json_bytes
from amprelay.js.json import JSONParseError, depth_exceeds, dumps, loads, parse

ORACLE = Path(__file__).parent / "data" / "json_parse_oracle.jsonl"


def _answers() -> list[dict]:
    return [json.loads(line) for line in ORACLE.read_text(encoding="utf-8").split("\n") if line]


def _stringify(value) -> str:
    # to_json_bytes serialises request bodies (objects); a bare number at the top is wrapped
    return to_json_bytes([value]).decode()[1:-1]


def _deep_stringify(value) -> str:
    """JSON.stringify for the corpus' deeply nested documents (beyond orjson's 254 levels; they
    hold only integers and plain strings)."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    finally:
        sys.setrecursionlimit(limit)


def test_parse_accepts_exactly_what_json_parse_accepts_and_reads_the_same_values():
    answers = _answers()
    assert len(answers) > 3000
    wrong = []
    for a in answers:
        doc = base64.b64decode(a["doc"])
        try:
            value = parse(doc)
            ours = _deep_stringify(value) if depth_exceeds(value, 200) else _stringify(value)
        except JSONParseError as exc:
            if a["ok"]:
                wrong.append((doc[:80], "refused", exc.message, a["stringify"][:80]))
            continue
        if not a["ok"]:
            wrong.append((doc[:80], "accepted", a["error"]))
        elif ours != a["stringify"]:
            wrong.append((doc[:80], "value", ours[:80], a["stringify"][:80]))
    assert not wrong, f"{len(wrong)} answers differ from JSON.parse's, e.g. {wrong[:5]}"
    assert sum(a["ok"] for a in answers) > 1000 and sum(not a["ok"] for a in answers) > 1000


@pytest.mark.parametrize(("body", "names"), [
    (b'{"a": NaN}', "NaN"), (b'{"a": Infinity}', "Infinity"), (b'{"a": -Infinity}', "-Infinity"),
    (b'{"a": "\xff"}', "not UTF-8"), ('{"a": 1}'.encode("utf-16"), "UTF-16"),
    ('{"a": 1}'.encode("utf-16-le"), "UTF-16"), (b"\xef\xbb\xbf{}", "byte order mark"),
])
def test_refusals_name_the_problem(body, names):
    with pytest.raises(JSONParseError) as info:
        parse(body)
    assert names in info.value.message


def test_nesting_of_any_depth_is_read():
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    value = parse(deep)
    for _ in range(5000):
        value = value["a"]
    assert value == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=30,
)


@given(json_values)
@example({"s": "\ud800", "\udc00k": ["x\udfff\ud800", {"n": "\n\"\\"}]})
def test_what_dumps_writes_parse_and_loads_read_back(value):
    data = dumps(value)
    data.decode("utf-8")  # always valid UTF-8: lone surrogates are escaped
    assert loads(data) == value
    parsed = parse(data)
    assert parsed == value  # JavaScript's key order aside (dict equality ignores order)
    assert parse(dumps(parsed)) == parsed and dumps(parse(dumps(parsed))) == dumps(parsed)
