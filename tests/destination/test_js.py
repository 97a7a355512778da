"""JSON.parse-like loading of request bodies."""


import pytest

from amprelay.destination.js import js_json_loads


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
