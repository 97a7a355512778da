"""`@json`'s decoder is JSON.parse (``amprelay.js.json.parse``, the one reader): strict, long
integers rounded to doubles, array-index keys first; text JSON.parse refuses stays the string."""

from __future__ import annotations

from amprelay.mapping import transform

DECODE = {"x": {"@json": {"mode": "decode", "value": {"@path": "$.s"}}}}


def decoded(text: str) -> object:
    return transform(DECODE, {"s": text})["x"]


def test_json_decode_is_strict_like_js():
    assert decoded(' {"a": [1, 2.5]} ') == {"a": [1, 2.5]}
    for bad in ("NaN", "Infinity", '{"a":-Infinity}', "{a:1}", "'x'", "", "\ufeff1", '{"a":1,}', '"x\ty"'):
        assert decoded(bad) == bad
    assert decoded("12345678901234567890") == 12345678901234567000.0
    assert decoded("9007199254740993") == 9007199254740992.0


def test_json_decode_orders_keys_as_javascript_does():
    assert list(decoded('{"b": 1, "10": 2, "0": 3}')) == ["0", "10", "b"]


def test_json_decode_keeps_lone_surrogates():
    assert decoded('["\\ud800"]') == ["\ud800"]
