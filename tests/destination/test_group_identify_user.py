"""Group Identify User (groupIdentifyUser): two calls, "now", NaN time."""

import pytest

from amprelay.engine import PayloadError
from tests.destination.helpers import EU, NOW_MS, run

MAPPING = {
    "user_id": {"@path": "$.userId"},
    "device_id": {"@path": "$.anonymousId"},
    "time": {"@path": "$.timestamp"},
    "group_properties": {"@path": "$.traits"},
    "group_type": {"@literal": "org"},
    "group_value": {"@path": "$.groupId"},
}


def group(**extra):
    event = {"type": "group", "userId": "user-1", "groupId": "acme", "traits": {"size": 10},
             "timestamp": "2023-05-01T12:34:56.789Z"}
    event.update(extra)
    return event


def test_identify_then_groupidentify():
    identify, group_identify = run("groupIdentifyUser", group(), MAPPING)
    assert identify.url == "https://api2.amplitude.com/identify"
    assert group_identify.url == "https://api2.amplitude.com/groupidentify"
    assert identify.form["identification"] == (
        '[{"groups":{"org":"acme"},"library":"segment","time":1682944496789,"user_id":"user-1",'
        '"user_properties":{"org":"acme"}}]'
    )
    assert group_identify.form["identification"] == (
        '[{"group_properties":{"size":10},"group_value":"acme","group_type":"org","library":"segment"}]'
    )
    assert identify.form["options"] == group_identify.form["options"] == "undefined"


def test_no_ids_only_groupidentify():
    (request,) = run("groupIdentifyUser", group(userId=None), MAPPING)
    assert request.url.endswith("/groupidentify")


def test_missing_time_is_now_and_invalid_time_is_null():
    identify, _ = run("groupIdentifyUser", group(timestamp=None), MAPPING)
    assert identify.decoded_body()["identification"][0]["time"] == NOW_MS
    identify, _ = run("groupIdentifyUser", group(timestamp="not a date"), MAPPING)
    assert identify.decoded_body()["identification"][0]["time"] is None
    identify, _ = run("groupIdentifyUser", group(timestamp=1683000000000), MAPPING)
    assert identify.decoded_body()["identification"][0]["time"] == -9059558400000  # a string field


def test_numbers_become_strings_and_europe_and_min_id_length():
    mapping = {**MAPPING, "group_type": {"@literal": 5}, "min_id_length": 2}
    identify, group_identify = run("groupIdentifyUser", group(groupId=42), mapping, settings=EU)
    assert identify.url == "https://api.eu.amplitude.com/identify"
    assert group_identify.url == "https://api.eu.amplitude.com/groupidentify"
    assert group_identify.decoded_body()["identification"][0]["group_type"] == "5"
    assert identify.decoded_body()["identification"][0]["groups"] == {"5": "42"}
    assert identify.form["options"] == '{"min_id_length":2}'


def test_group_type_and_value_are_required():
    with pytest.raises(PayloadError, match="group_type"):
        run("groupIdentifyUser", group(), None)
