"""Amplitude's answers → one outcome per entry."""

from __future__ import annotations

import orjson

from amprelay.delivery.responses import Action, classify


def entries(*users: tuple[str, str | None]) -> list[bytes]:
    return [orjson.dumps({"event_type": "E", "user_id": u, "device_id": d}) for u, d in users]


THREE = entries(("alice-1", "dev-1"), ("bob-22", "dev-2"), ("carol-3", None))


def actions(v):
    return [o.action for o in v.outcomes]


def test_2xx_is_done_and_the_body_code_counts():
    assert actions(classify(200, b'{"code":200,"events_ingested":3}', THREE)) == [Action.DONE] * 3
    assert actions(classify(200, b"success", THREE)) == [Action.DONE] * 3
    # HTTP 200 with an error code in the body, as Amplitude's SDK reads it
    v = classify(200, b'{"code":503,"error":"Service Unavailable"}', THREE)
    assert v.status == 503 and actions(v) == [Action.BACKOFF] * 3


def test_400_dead_letters_only_the_named_events_with_the_reason():
    body = orjson.dumps({"code": 400, "error": "Invalid field values on some events",
                         "events_with_invalid_fields": {"time": [1]},
                         "events_with_missing_fields": {"event_type": [2]}})
    v = classify(400, body, THREE)
    assert actions(v) == [Action.RESEND, Action.DEAD, Action.DEAD]
    assert "time (invalid)" in v.outcomes[1].reason and "Invalid field values" in v.outcomes[1].reason
    assert "event_type (missing)" in v.outcomes[2].reason


def test_400_silenced_and_id_length():
    body = orjson.dumps({"code": 400, "error": "Events silenced for device_id", "silenced_events": [0],
                         "throttled_events": []})
    assert actions(classify(400, body, THREE)) == [Action.DEAD, Action.RESEND, Action.RESEND]
    body = orjson.dumps({"code": 400, "error": "x", "events_with_invalid_id_lengths": {"user_id": [2]}})
    assert actions(classify(400, body, THREE)) == [Action.RESEND, Action.RESEND, Action.DEAD]


def test_400_without_names_splits_then_dead_letters_one():
    body = b'{"code":400,"error":"Invalid event JSON"}'
    assert actions(classify(400, body, THREE)) == [Action.SPLIT] * 3
    v = classify(400, body, THREE[:1])
    assert actions(v) == [Action.DEAD] and "Invalid event JSON" in v.outcomes[0].reason
    assert actions(classify(400, b"missing_event", THREE[:1])) == [Action.DEAD]
    v = classify(400, b'{"code":400,"error":"Request missing required field","missing_field":"events"}', THREE)
    assert actions(v) == [Action.DEAD] * 3


def test_invalid_api_key_holds():
    v = classify(400, b'{"code":400,"error":"Invalid API key: abc"}', THREE)
    assert v.hold and actions(v) == [Action.HOLD] * 3
    assert classify(400, b"invalid_api_key", THREE).hold
    assert classify(400, b'{"code":400,"error":"Request missing required field","missing_field":"api_key"}',
                    THREE).hold


def test_413_splits_a_batch_and_dead_letters_a_single_entry():
    assert classify(413, b'{"code":413,"error":"Payload too large"}', THREE).split
    v = classify(413, b"", THREE[:1])
    assert actions(v) == [Action.DEAD] and "too large" in v.outcomes[0].reason


def test_429_backs_off_only_the_throttled_users_and_devices():
    body = orjson.dumps({"code": 429, "error": "Too many requests for some devices and users",
                         "eps_threshold": 10, "throttled_devices": {"dev-2": 11}, "throttled_users": {},
                         "throttled_events": [1]})
    v = classify(429, body, THREE, throttle_seconds=7)
    assert actions(v) == [Action.RESEND, Action.THROTTLED, Action.RESEND]
    assert v.outcomes[1].delay == 7
    body = orjson.dumps({"code": 429, "error": "t", "throttled_users": {"carol-3": 50}, "throttled_devices": {},
                         "exceeded_daily_quota_users": {"alice-1": 9}, "throttled_events": [0, 2]})
    v = classify(429, body, THREE, throttle_seconds=7, quota_seconds=99)
    assert actions(v) == [Action.THROTTLED, Action.RESEND, Action.THROTTLED]
    assert [o.delay for o in v.outcomes] == [99, 0, 7]
    assert actions(classify(429, b"Too Many Requests", THREE)) == [Action.THROTTLED] * 3


def test_server_errors_timeouts_and_others_back_off():
    for status in (500, 502, 503, 504, 408, 404, 401):
        assert actions(classify(status, b"oops", THREE)) == [Action.BACKOFF] * 3, status
    v = classify(None, None, THREE, "timeout (ReadTimeout)")
    assert v.status is None and actions(v) == [Action.BACKOFF] * 3 and "timeout" in v.outcomes[0].reason


def test_observe_many_equals_observe_one_by_one():
    from prometheus_client import CollectorRegistry, Histogram

    from amprelay.delivery.metrics import observe_many

    values = [0.0, 0.01, 0.011, 0.5, 3, 99999, 0.25, 0.25]
    r1, r2 = CollectorRegistry(), CollectorRegistry()
    h1 = Histogram("h", "h", buckets=(0.01, 0.25, 1, 60), registry=r1)
    h2 = Histogram("h", "h", buckets=(0.01, 0.25, 1, 60), registry=r2)
    for v in values:
        h1.observe(v)
    observe_many(h2, values)
    s1 = {(s.name, tuple(s.labels.items())): s.value for m in r1.collect() for s in m.samples if "created" not in s.name}
    s2 = {(s.name, tuple(s.labels.items())): s.value for m in r2.collect() for s in m.samples if "created" not in s.name}
    assert s1 == s2
