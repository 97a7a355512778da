"""Worked examples of amprelay.js (answers checked in Node by hand when they were written)."""

from __future__ import annotations

import math

import pytest

from amprelay import js

NUMBERS = [
    (0, "0"), (1, "1"), (-1, "-1"), (1.5, "1.5"), (0.1, "0.1"), (0.30000000000000004, "0.30000000000000004"),
    (1e21, "1e+21"), (1e20, "100000000000000000000"), (123456789012345680000.0, "123456789012345680000"),
    (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (0.000001, "0.000001"), (123.456, "123.456"), (-0.0001, "-0.0001"),
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (2**53, "9007199254740992"),
    (2**53 + 1, "9007199254740992"), (1e300, "1e+300"), (1.23e-18, "1.23e-18"), (0.5, "0.5"), (100.0, "100"),
    (12345678000000.0, "12345678000000"), (4.35, "4.35"), (2.5e25, "2.5e+25"), (-0.0, "0"),
]


@pytest.mark.parametrize("num,text", NUMBERS)
def test_mapping_numbers_to_string(num, text):
    assert js.number_to_string(num) == text


def test_to_string_examples():
    assert js.to_string(True) == "true"
    assert js.to_string(None) == "null"
    assert js.to_string(js.UNDEFINED) == "undefined"
    assert js.to_string([1, None, [2, js.UNDEFINED], "a"]) == "1,,2,,a"
    assert js.to_string({"a": 1}) == "[object Object]"


def test_json_stringify_cases():
    assert js.json_stringify(js.UNDEFINED) is js.UNDEFINED
    assert js.json_stringify({"b": 1.0, "1": [js.UNDEFINED, float("inf")], "a": js.UNDEFINED, "c": "é\n\x01\ud800"}) == (
        '{"1":[null,null],"b":1,"c":"é\\n\\u0001\\ud800"}')


def test_js_keys_order():
    assert js.keys_in_order({"b": 1, "10": 1, "2": 1, "a": 1, "01": 1, "-1": 1}) == ["2", "10", "b", "a", "01", "-1"]


@pytest.mark.parametrize(
    ("x", "s"),
    [(0, "0"), (-0.0, "0"), (1.0, "1"), (12.5, "12.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
     (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (1e-6, "0.000001"), (0.1 + 0.2, "0.30000000000000004"),
     (2.0**60, "1152921504606847000"), (-2.5, "-2.5"), (math.inf, "Infinity"), (-math.inf, "-Infinity"),
     (math.nan, "NaN"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
     (123456789, "123456789"), (2**70, "1.1805916207174113e+21")],
)
def test_field_numbers_to_string(x: float, s: str) -> None:
    assert js.number_to_string(x) == s


@pytest.mark.parametrize(
    ("s", "x"),
    [("", 0), ("  ", 0), (" 7 ", 7), ("\u00a012\ufeff", 12), ("1e3", 1000), (".5", 0.5), ("5.", 5), ("+5", 5),
     ("-0", 0), ("0x10", 16), ("0B101", 5), ("0o17", 15), ("Infinity", math.inf), ("-Infinity", -math.inf),
     ("1e400", math.inf)],
)
def test_string_to_number_examples(s: str, x: float) -> None:
    assert js.string_to_number(s) == x


@pytest.mark.parametrize("s", ["abc", "12,50", "$9.99", "1_000", "nan", "inf", "infinity", "-0x10", "0x", "1e", "e5", "--1"])
def test_string_to_number_nan(s: str) -> None:
    assert math.isnan(js.string_to_number(s))


def test_normalize_number_cases() -> None:
    assert type(js.normalize_number(2.0)) is int
    assert type(js.normalize_number(2.5)) is float
    assert type(js.normalize_number(2.0**60)) is float
    assert math.isinf(js.normalize_number(math.inf))


def test_with_key_order_cases():
    assert list(js.with_key_order({"a": 1, "4294967295": 2, "4294967294": 3, "7": 4})) == ["7", "4294967294", "a", "4294967295"]
    d = {"a": 1}
    assert js.with_key_order(d) is d


@pytest.mark.parametrize(("value", "expected"), [
    ("", False), ("0", True), (0, False), (0.0, False), (math.nan, False), (None, False), (js.UNDEFINED, False),
    (False, False), ([], True), ({}, True), (1, True), ("x", True),
])
def test_truthy_cases(value, expected):
    assert js.truthy(value) is expected


@pytest.mark.parametrize(("value", "text"), [
    (js.UNDEFINED, "undefined"), (None, "null"), (True, "true"), (1.0, "1"), (1e21, "1e+21"), (2**60, "1152921504606847000"),
    ([1, None, "a"], "1,,a"), ({"a": 1}, "[object Object]"), (math.nan, "NaN"),
])
def test_to_string_cases(value, text):
    assert js.to_string(value) == text


def test_spread_and_round_examples():
    assert js.spread("ab") == {"0": "a", "1": "b"}
    assert js.spread([5]) == {"0": 5}
    assert js.spread(3) == {}
    assert (js.round_half_up(2.5), js.round_half_up(-2.5), js.round_half_up(0.49999999999999994), js.round_half_up(7)) == (3, -2, 0, 7)
