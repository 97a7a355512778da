"""JavaScript semantics helpers: JSON.parse-like loading, property order, truthiness, String()."""

import math

import pytest

from amprelay.destination.js import (
    UNDEFINED,
    js_json_loads,
    js_key_order,
    js_round,
    js_string,
    spread,
    truthy,
)


def test_js_json_loads_numbers_like_json_parse():
    value = js_json_loads(b'{"a":1152921504606846976,"b":9007199254740993,"c":2.5,"d":[24.0],"e":123456789012345678901234567890}')
    assert value["a"] == 1.152921504606847e18 and isinstance(value["a"], float)
    assert value["b"] == 9007199254740992.0
    assert value["c"] == 2.5
    assert value["d"] == [24] and type(value["d"][0]) is int  # normalised while walking
    assert value["e"] == 1.2345678901234568e29


def test_js_json_loads_orders_array_index_keys_first():
    value = js_json_loads('{"b":1,"10" : 2,"2":3,"01":4,"x":{"z":1,"0":2}}')
    assert list(value) == ["2", "10", "b", "01", "x"]
    assert list(value["x"]) == ["0", "z"]
    plain = js_json_loads(b'{"user_1":1,"b":"12345678901234567890"}')
    assert plain == {"user_1": 1, "b": "12345678901234567890"}


def test_js_json_loads_rejects_invalid_json():
    with pytest.raises(ValueError):
        js_json_loads(b"{not json")


def test_js_key_order():
    assert list(js_key_order({"a": 1, "4294967295": 2, "4294967294": 3, "7": 4})) == ["7", "4294967294", "a", "4294967295"]
    d = {"a": 1}
    assert js_key_order(d) is d


@pytest.mark.parametrize(("value", "expected"), [
    ("", False), ("0", True), (0, False), (0.0, False), (math.nan, False), (None, False), (UNDEFINED, False),
    (False, False), ([], True), ({}, True), (1, True), ("x", True),
])
def test_truthy(value, expected):
    assert truthy(value) is expected


@pytest.mark.parametrize(("value", "text"), [
    (UNDEFINED, "undefined"), (None, "null"), (True, "true"), (1.0, "1"), (1e21, "1e+21"), (2**60, "1152921504606847000"),
    ([1, None, "a"], "1,,a"), ({"a": 1}, "[object Object]"), (math.nan, "NaN"),
])
def test_js_string(value, text):
    assert js_string(value) == text


def test_spread_and_round():
    assert spread("ab") == {"0": "a", "1": "b"}
    assert spread([5]) == {"0": 5}
    assert spread(3) == {}
    assert (js_round(2.5), js_round(-2.5), js_round(0.49999999999999994), js_round(7)) == (3, -2, 0, 7)
