"""Log Event V2's perform sets its keys on one object (``_common.event_with_properties``): the
same requests, byte for byte, as the reference's steps one after the other (the payload without
the excluded keys as ``properties``, set on, then spread after the user-agent fields), which
:func:`_stepwise_perform` keeps as the model."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from amprelay.destination import Context
from amprelay.destination.actions import _common as _c
from amprelay.destination.actions import log_event_v2
from amprelay.destination.request import AmplitudeRequest
from amprelay.js import spread
from tests.destination.helpers import CHROME_WINDOWS_UA, IPHONE_UA, NOW_MS, SETTINGS


def _stepwise_perform(payload: dict[str, Any]) -> list[AmplitudeRequest]:
    """Log Event V2's perform as the reference writes it, step by step."""
    props = {k: v for k, v in payload.items() if k not in log_event_v2._EXCLUDED}
    _c.normalize_platform(props, payload.get("library"))
    _c.set_time_and_session(props, payload)
    for source, operation in log_event_v2._USER_PROPERTY_OPERATIONS:
        obj = payload.get(source)
        if obj is not None and obj != {} and log_event_v2._has_non_empty_value(obj):
            props["user_properties"] = {**spread(props.get("user_properties")), operation: obj}
    event = _c.assemble_event(payload, props, _c.library_value(payload))
    return [_c.event_request(payload, SETTINGS, [event])]


_text = st.sampled_from(["", "x", "iOS", "android", "Web", "analytics.js", "2023-05-01T12:34:56.789Z", "17"])
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.just(1.5), _text)
_user_agents = st.sampled_from([IPHONE_UA, CHROME_WINDOWS_UA, "", "curl/8.0", "okhttp/4.9.3",
                                "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15"])
_objects = st.dictionaries(st.sampled_from(["a", "b", "referrer", "utm_source"]), _scalar, max_size=3)
_values: dict[str, Any] = {
    "event_type": _text, "user_id": _scalar, "device_id": _scalar, "platform": _scalar, "library": _scalar,
    "time": st.one_of(_scalar, st.just(1682944496789)), "session_id": st.one_of(_scalar, st.just(1682944496789)),
    "user_properties": st.one_of(st.none(), _objects), "event_properties": _objects,
    "setOnce": st.one_of(_objects, _scalar), "setAlways": st.one_of(_objects, _scalar), "add": _objects,
    "userAgent": _user_agents,  # a string (the field is one) "userAgentParsing": _scalar, "includeRawUserAgent": _scalar,
    "userAgentData": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"model": _text, "platformVersion": _text})),
    "library2": st.one_of(_scalar, st.fixed_dictionaries({"behavior": st.sampled_from(["use_mapping", "auto"])},
                                                         optional={"mapping": _scalar})),
    "use_batch_endpoint": _scalar, "min_id_length": st.one_of(_scalar, st.just(7)),
    "price": _scalar, "quantity": _scalar, "revenue": _scalar,
    # keys the user-agent fields have too, and one they may add
    "os_name": _scalar, "device_model": _scalar, "device_type": _scalar, "user_agent": _scalar,
}


@st.composite
def _payloads(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(_values)), unique=True))  # any subset, in any order
    return {k: draw(_values[k]) for k in keys}


def test_no_excluded_key_is_a_user_agent_key() -> None:
    """What lets the properties be set on the event itself (see event_with_properties)."""
    assert log_event_v2._EXCLUDED.isdisjoint((*_c.UA_KEYS, "user_agent"))
    assert set(log_event_v2._EXCLUDED_KEYS) == log_event_v2._EXCLUDED


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_payloads())
@example({"device_type": 1, "userAgent": IPHONE_UA, "os_name": None, "userAgentParsing": True, "event_type": "E"})
@example({"user_agent": "u", "userAgent": CHROME_WINDOWS_UA, "includeRawUserAgent": True, "userAgentParsing": True})
@example({"platform": "", "library": "analytics.js", "time": "2023-05-01T12:34:56.789Z", "user_properties": {"a": 1},
          "setOnce": {"a": ""}, "setAlways": {"b": "x"}, "add": {"a": 1}})
def test_one_object_gives_the_stepwise_requests(payload: dict[str, Any]) -> None:
    got = log_event_v2.perform(payload, SETTINGS, Context(NOW_MS))
    want = _stepwise_perform(payload)
    assert [(r.url, r.body_bytes()) for r in got] == [(r.url, r.body_bytes()) for r in want]
    assert [list(r.json["events"][0]) for r in got if r.json] == [list(r.json["events"][0]) for r in want if r.json]
