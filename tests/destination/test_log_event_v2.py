"""Log Event V2 (logEventV2): setOnce / setAlways / add, time and session id conversion, presets."""

import pytest

from amprelay.destination import PRESETS
from amprelay.engine import CompiledAction, PayloadError
from tests.destination.helpers import NOW_MS, SETTINGS, events_of, perform, run, track


def test_set_once_set_always_add_replace_user_properties_operations():
    event = track(
        traits={"plan": "pro", "$set": {"old": 1}},
        context={"campaign": {"source": "google", "name": ""}, "page": {"referrer": "https://r.example/"}},
    )
    (sent,) = events_of(run("logEventV2", event, overrides={"user_properties": {"@path": "$.traits"},
                                                          "add": {"logins": 1}}))
    assert sent["user_properties"] == {
        "plan": "pro",
        "$set": {"referrer": "https://r.example/", "utm_source": "google", "utm_campaign": ""},
        "$setOnce": {"initial_referrer": "https://r.example/", "initial_utm_source": "google", "initial_utm_campaign": ""},
        "$add": {"logins": 1},
    }


def test_operations_with_only_empty_strings_are_skipped():
    payload = {"event_type": "E", "setOnce": {"a": ""}, "setAlways": {"b": "", "c": None}, "add": {}}
    (request,) = perform("logEventV2", payload)
    assert request.json["events"][0]["user_properties"] == {"$set": {"b": "", "c": None}}


def test_no_operations_no_user_properties():
    (sent,) = events_of(run("logEventV2", track()))
    assert "user_properties" not in sent


@pytest.mark.parametrize(
    ("timestamp", "time"),
    [
        ("2023-05-01T12:34:56.789Z", 1682944496789),
        ("2023-05-01T14:34:56.789+02:00", 1682944496789),
        ("2023-05-01", 1682899200000),
        ("2023-05-01 12:34:56", 1682944496000),
        (1683000000000, 1683000000000),
        (1683000000.123, 1683000000),
        ("1683000000000", -9059558400000),  # dayjs reads a numeric string as a date
        ("2023", 1672531200000),
        (-1, -1),
        (0, None),  # falsy: no time
    ],
)
def test_time_to_epoch_ms(timestamp, time):
    (sent,) = events_of(run("logEventV2", track(timestamp=timestamp)))
    assert sent.get("time") == time


def test_invalid_time_is_an_error():
    with pytest.raises(PayloadError, match="Timestamp must be a valid date-like string"):
        run("logEventV2", track(timestamp="not-a-date"))


@pytest.mark.parametrize(
    ("session_id", "sent_id"),
    [
        (1683000000000, 1683000000000),
        ("1683000000000", 1683000000000),  # digits only: Number(str)
        ("2023-05-01", 1682899200000),
        (" 123", -58285699200000),
        ("0", 0),
        (0, None),
    ],
)
def test_session_id_to_epoch_ms(session_id, sent_id):
    (sent,) = events_of(run("logEventV2", track(integrations={"Actions Amplitude": {"session_id": session_id}})))
    assert sent.get("session_id") == sent_id


def test_time_and_session_id_follow_the_other_fields():
    (sent,) = events_of(run("logEventV2", track(integrations={"Actions Amplitude": {"session_id": 5}})))
    assert list(sent)[-3:] == ["use_batch_endpoint", "time", "session_id"]


def test_page_preset_event_type_template():
    page = next(p for p in PRESETS if p.name == "Page Calls")
    event = {"type": "page", "name": "Home", "userId": "user-1", "properties": {"path": "/"}, "context": {}}
    (request,) = CompiledAction(page.action, page.mapping).run(event, SETTINGS, NOW_MS)
    assert request.json["events"][0]["event_type"] == "Viewed Home"


def test_user_agent_data_overrides_version_and_model():
    event = track(context={"userAgent": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                                        "Chrome/120.0.0.0 Mobile Safari/537.36",
                           "userAgentData": {"model": "Pixel 8", "platformVersion": "14.0.0"}})
    (sent,) = events_of(run("logEventV2", event))
    assert (sent["os_name"], sent["os_version"], sent["device_model"]) == ("Android", "14.0.0", "Pixel 8")


def test_min_id_length_and_batch():
    (request,) = run("logEventV2", track(), overrides={"min_id_length": 2, "use_batch_endpoint": True})
    assert request.url == "https://api2.amplitude.com/batch"
    assert list(request.json) == ["api_key", "events", "options"]
    assert request.json["options"] == {"min_id_length": 2}
    with pytest.raises(PayloadError, match="Minimum ID Length must be an integer or null"):
        run("logEventV2", track(), overrides={"min_id_length": 2.5})


def test_user_id_null_is_sent_and_empty_is_dropped():
    (sent,) = events_of(run("logEventV2", track(userId=None)))
    assert sent["user_id"] is None
    (sent,) = events_of(run("logEventV2", track(userId="")))
    assert "user_id" not in sent
