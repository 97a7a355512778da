"""The pure validation functions, including open-ended inputs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from amprelay.fakeamp import responses
from amprelay.fakeamp.validation import (
    check_event_request,
    check_events,
    event_id_key,
    parse_options,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)

ids = st.text(alphabet="abcdefghijklmnop-0123456789", min_size=5, max_size=20).filter(
    lambda s: s not in ("00000",)
)
valid_events = st.fixed_dictionaries(
    {"event_type": st.text(min_size=1, max_size=10).filter(lambda s: not s.startswith("[Amplitude]"))},
    optional={
        "time": st.integers(min_value=0, max_value=2**45),
        "session_id": st.integers(min_value=-1, max_value=2**45),
        "event_properties": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        "price": st.floats(allow_nan=False, allow_infinity=False),
        "platform": st.text(max_size=5),
        "insert_id": st.text(max_size=10),
        "unknown_key": json_values,
    },
).flatmap(
    lambda ev: st.one_of(
        st.builds(lambda u: {**ev, "user_id": u}, ids),
        st.builds(lambda d: {**ev, "device_id": d}, ids),
    )
)


@settings(max_examples=100, deadline=None)
@given(st.lists(valid_events, min_size=1, max_size=8))
def test_valid_events_pass(events):
    assert check_events(events, 5) is None


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_json_body_gets_an_answer_without_raising(value):
    result = check_event_request(value)
    if isinstance(result, dict):
        assert result["code"] == 400
    else:
        problems = check_events(result.events, result.min_id_length)
        assert problems is None or problems["code"] == 400


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["event_type", "user_id", "device_id", "time"]), json_values)))
def test_reported_indexes_are_in_range(events):
    problems = check_events(events, 5) if events else None
    if problems and problems.get("error") != responses.ERR_INVALID_EVENT_JSON:
        for key in ("events_with_missing_fields", "events_with_invalid_fields", "events_with_invalid_id_lengths"):
            for indexes in problems.get(key, {}).values():
                assert indexes == sorted(set(indexes))
                assert all(0 <= i < len(events) for i in indexes)


def test_parse_options():
    assert parse_options(None) == (None, 5)
    assert parse_options({}) == ({}, 5)
    assert parse_options({"min_id_length": 0}) == ({"min_id_length": 0}, 0)
    assert parse_options({"min_id_length": None}) == ({"min_id_length": None}, 5)
    assert parse_options({"min_id_length": "3"}) is None
    assert parse_options({"min_id_length": -1}) is None
    assert parse_options("undefined") is None


def test_event_id_key_drops_short_ids():
    assert event_id_key({"user_id": "abc", "device_id": "device-1"}, 5) == ("device-1", None)
    assert event_id_key({"user_id": "abc"}, 3) == (None, "abc")
    assert event_id_key({"device_id": "anonymous", "user_id": 7}, 5) == (None, None)
