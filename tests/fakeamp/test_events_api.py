"""HTTP V2 (/2/httpapi) and Batch (/batch) over real sockets."""

from __future__ import annotations

import time

import httpx
import orjson
import pytest

from tests.fakeamp.helpers import body, event

PATHS = ["/2/httpapi", "/batch"]


def post(fake, path, payload, **kw):
    return fake.client.post(path, json=payload, **kw)


@pytest.mark.parametrize("path", PATHS)
def test_success_body_is_amplitudes_success_summary(fake, path):
    raw = orjson.dumps(body([event(0), event(1)]))
    before = int(time.time() * 1000)
    r = fake.client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    got = r.json()
    assert list(got) == ["code", "events_ingested", "payload_size_bytes", "server_upload_time"]
    assert got["code"] == 200
    assert got["events_ingested"] == 2
    assert got["payload_size_bytes"] == len(raw)
    assert before <= got["server_upload_time"] <= int(time.time() * 1000)


@pytest.mark.parametrize("path", PATHS)
def test_accepted_events_are_recorded_with_their_path(fake, path):
    ev = event(7, event_properties={"a": [1, {"b": None}]}, use_batch_endpoint=True, products=[])
    post(fake, path, body([ev], options={"min_id_length": 5}))
    [rec] = fake.events()
    assert rec["path"] == path
    assert rec["region"] == "na"
    assert rec["api_key"] == "key-1"
    assert rec["kind"] == "event"
    assert rec["data"] == ev  # exactly as sent, unknown keys included
    assert rec["options"] == {"min_id_length": 5}
    assert isinstance(rec["received_at"], int)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"events": [event()]}, {"code": 400, "error": "Request missing required field", "missing_field": "api_key"}),
        (
            {"api_key": "", "events": [event()]},
            {"code": 400, "error": "Request missing required field", "missing_field": "api_key"},
        ),
        ({"api_key": "k"}, {"code": 400, "error": "Request missing required field", "missing_field": "events"}),
        (
            {"api_key": "k", "events": []},
            {"code": 400, "error": "Request missing required field", "missing_field": "events"},
        ),
        (
            {"api_key": "k", "events": {"event_type": "x"}},
            {"code": 400, "error": "Request missing required field", "missing_field": "events"},
        ),
        ([1, 2], {"code": 400, "error": "Invalid JSON request body"}),
        ({"api_key": "k", "events": ["x"]}, {"code": 400, "error": "Invalid event JSON"}),
        ({"api_key": "k", "events": [event()], "options": "x"}, {"code": 400, "error": "Invalid JSON request body"}),
    ],
)
def test_request_level_400s(fake, payload, expected):
    r = post(fake, "/2/httpapi", payload)
    assert r.status_code == 400
    assert r.json() == expected
    assert fake.events() == []


def test_invalid_json_and_missing_body(fake):
    r = fake.client.post("/2/httpapi", content=b"{not json")
    assert (r.status_code, r.json()) == (400, {"code": 400, "error": "Invalid JSON request body"})
    r = fake.client.post("/batch", content=b"")
    assert (r.status_code, r.json()) == (400, {"code": 400, "error": "Missing request body"})


def test_events_with_missing_fields_lists_indexes(fake):
    events = [event(0), event(1, event_type=None), event(2), event(3, event_type="")]
    r = post(fake, "/2/httpapi", body(events))
    assert r.status_code == 400
    assert r.json() == {
        "code": 400,
        "error": "Request missing required field",
        "events_with_missing_fields": {"event_type": [1, 3]},
    }
    assert fake.events() == []  # a 400 rejects the whole request


def test_events_with_invalid_fields_by_type(fake):
    events = [
        event(0, time="2024-01-01T00:00:00Z"),
        event(1, time=1700000000000.5),
        event(2, event_properties="nope"),
        event(3, session_id=1700000000000, time=1700000000000, price=1.5, quantity=2),
        event(4, event_type="[Amplitude] Start Session"),
        event(5, groups=["a"], revenue="9.99"),
    ]
    r = post(fake, "/batch", body(events))
    assert r.status_code == 400
    assert r.json() == {
        "code": 400,
        "error": "Invalid field values on some events",
        "events_with_invalid_fields": {
            "time": [0, 1],
            "event_properties": [2],
            "event_type": [4],
            "groups": [5],
            "revenue": [5],
        },
    }


def test_missing_and_invalid_together_names_missing_first(fake):
    r = post(fake, "/2/httpapi", body([event(0, event_type=None), event(1, time="x")]))
    assert r.json() == {
        "code": 400,
        "error": "Request missing required field",
        "events_with_missing_fields": {"event_type": [0]},
        "events_with_invalid_fields": {"time": [1]},
    }


def test_nulls_count_as_absent(fake):
    r = post(fake, "/2/httpapi", body([event(0, time=None, event_properties=None, price=None)]))
    assert r.status_code == 200


def test_user_id_or_device_id_required(fake):
    r = post(fake, "/2/httpapi", body([{"event_type": "x"}, {"event_type": "x", "user_id": "", "device_id": None}]))
    assert r.json() == {
        "code": 400,
        "error": "Request missing required field",
        "events_with_missing_fields": {"user_id": [0, 1]},
    }


def test_min_id_length_default_5(fake):
    short_only = {"event_type": "x", "user_id": "abcd"}
    r = post(fake, "/2/httpapi", body([short_only]))
    assert r.json() == {
        "code": 400,
        "error": "Invalid field values on some events",
        "events_with_invalid_id_lengths": {"user_id": [0]},
    }
    # a too-short ID is dropped, the other ID carries the event
    r = post(fake, "/2/httpapi", body([{"event_type": "x", "user_id": "abcd", "device_id": "device-1"}]))
    assert r.status_code == 200
    # options.min_id_length overrides the default
    r = post(fake, "/2/httpapi", body([short_only], options={"min_id_length": 1}))
    assert r.status_code == 200
    r = post(fake, "/2/httpapi", body([{"event_type": "x", "device_id": "abcdef"}], options={"min_id_length": 7}))
    assert r.json()["events_with_invalid_id_lengths"] == {"device_id": [0]}


@pytest.mark.parametrize("bad", ["anonymous", "NULL", "undefined", "00000000-0000-0000-0000-000000000000", "-1"])
def test_amplitudes_invalid_ids_are_rejected(fake, bad):
    r = post(fake, "/2/httpapi", body([{"event_type": "x", "device_id": bad, "user_id": "real-user"}]))
    assert r.status_code == 400
    assert r.json()["events_with_invalid_fields"] == {"device_id": [0]}


def test_non_string_ids_are_invalid(fake):
    r = post(fake, "/2/httpapi", body([{"event_type": "x", "user_id": 123456}]))
    assert r.json()["events_with_invalid_fields"] == {"user_id": [0]}


def test_invalid_api_key_answer(fake):
    fake.configure(invalid_api_keys=["bad-key"])
    r = post(fake, "/2/httpapi", body([event()], api_key="bad-key"))
    assert (r.status_code, r.json()) == (400, {"code": 400, "error": "Invalid API key: bad-key"})
    assert post(fake, "/2/httpapi", body([event()], api_key="good-key")).status_code == 200


def test_valid_api_keys_allow_list(fake):
    fake.configure(valid_api_keys=["only-this"])
    r = post(fake, "/batch", body([event()], api_key="other"))
    assert r.json() == {"code": 400, "error": "Invalid API key: other"}
    assert post(fake, "/batch", body([event()], api_key="only-this")).status_code == 200


# ---- dedupe ----


def test_insert_id_dedupe_counts_as_ingested_but_records_once(fake):
    ev = event(1, insert_id="ins-1")
    for _ in range(3):
        r = post(fake, "/2/httpapi", body([ev]))
        assert r.status_code == 200
        assert r.json()["events_ingested"] == 1
    assert len(fake.events()) == 1
    stats = fake.stats()
    assert stats["duplicates"] == 2
    assert stats["events_accepted"] == 3


def test_dedupe_within_one_request_and_across_paths(fake):
    ev = event(1, insert_id="ins-2")
    post(fake, "/2/httpapi", body([ev, ev]))
    post(fake, "/batch", body([ev]))
    assert len(fake.events()) == 1


def test_dedupe_key_is_api_key_device_and_insert_id(fake):
    post(fake, "/2/httpapi", body([event(1, insert_id="same")]))
    post(fake, "/2/httpapi", body([event(2, insert_id="same")]))  # other device
    post(fake, "/2/httpapi", body([event(1, insert_id="same")], api_key="key-2"))  # other project
    post(fake, "/2/httpapi", body([event(1)]))  # no insert_id: never deduped
    post(fake, "/2/httpapi", body([event(1)]))
    assert len(fake.events()) == 5


def test_dedupe_falls_back_to_user_id_without_device_id(fake):
    ev = {"event_type": "x", "user_id": "user-abc", "insert_id": "i"}
    post(fake, "/2/httpapi", body([ev]))
    post(fake, "/2/httpapi", body([ev]))
    post(fake, "/2/httpapi", body([{**ev, "user_id": "user-xyz"}]))
    assert len(fake.events()) == 2


# ---- 413 ----


def test_413_over_max_body_bytes(fake):
    fake.configure(max_body_bytes=200)
    big = body([event(i) for i in range(10)])
    r = post(fake, "/2/httpapi", big)
    assert (r.status_code, r.json()) == (413, {"code": 413, "error": "Payload too large"})
    assert post(fake, "/2/httpapi", body([event()])).status_code == 200
    assert len(fake.events()) == 1


def test_default_limits_1mb_httpapi_20mb_batch(fake):
    pad = "x" * 1000
    events = [event(i, event_properties={"pad": pad}) for i in range(1100)]  # ~1.2 MB
    r = post(fake, "/2/httpapi", body(events))
    assert r.status_code == 413
    r = post(fake, "/batch", body(events))
    assert r.status_code == 200
    assert r.json()["events_ingested"] == 1100


def test_413_over_2000_events(fake):
    events = [{"event_type": "x", "device_id": f"d-{i:05d}"} for i in range(2001)]
    r = post(fake, "/batch", body(events))
    assert (r.status_code, r.json()) == (413, {"code": 413, "error": "Payload too large"})
    assert post(fake, "/batch", body(events[:2000])).status_code == 200
    fake.configure(max_events_per_request=10)
    assert post(fake, "/batch", body(events[:11])).status_code == 413


# ---- 429 ----


def test_429_lists_only_the_offending_device(fake):
    # 3 events/s averaged over a 2 s window: at most 6 events per device in the window
    fake.configure(eps_limit=3, eps_window_s=2)
    hot = [{"event_type": "x", "device_id": "hot-device"} for _ in range(7)]
    cold = [{"event_type": "x", "device_id": "cold-device"}]
    r = post(fake, "/2/httpapi", body(cold + hot))
    assert r.status_code == 429
    assert r.json() == {
        "code": 429,
        "error": "Too many requests for some devices and users",
        "eps_threshold": 3,
        "throttled_devices": {"hot-device": 4},  # 7 events / 2 s, rounded
        "throttled_users": {},
        "throttled_events": [1, 2, 3, 4, 5, 6, 7],
    }
    assert fake.events() == []  # the whole request is rejected
    assert post(fake, "/2/httpapi", body(cold)).status_code == 200
    assert post(fake, "/2/httpapi", body(hot[:6])).status_code == 200
    r = post(fake, "/2/httpapi", body(cold + hot[:1]))  # 7th event of hot-device in the window
    assert r.status_code == 429
    assert r.json()["throttled_devices"] == {"hot-device": 4}
    assert r.json()["throttled_events"] == [1]


def test_429_eps_value_and_users(fake):
    fake.configure(eps_limit=2, eps_window_s=1)
    events = [{"event_type": "x", "user_id": "heavy-user", "device_id": f"dev-{i:03d}"} for i in range(5)]
    r = post(fake, "/batch", body(events))
    got = r.json()
    assert r.status_code == 429
    assert got["throttled_users"] == {"heavy-user": 5}
    assert got["throttled_devices"] == {}
    assert got["throttled_events"] == [0, 1, 2, 3, 4]


def test_throttle_window_expires(fake):
    fake.configure(eps_limit=10, eps_window_s=0.2)  # 10/s averaged over 0.2 s: 2 events
    evs = [{"event_type": "x", "device_id": "dev-window"}] * 2
    assert post(fake, "/2/httpapi", body(evs)).status_code == 200
    assert post(fake, "/2/httpapi", body(evs[:1])).status_code == 429
    time.sleep(0.25)
    assert post(fake, "/2/httpapi", body(evs)).status_code == 200


def test_throttle_is_per_api_key(fake):
    fake.configure(eps_limit=1, eps_window_s=5)  # 5 events per device in the window
    ev = [{"event_type": "x", "device_id": "dev-shared"}] * 5
    assert post(fake, "/2/httpapi", body(ev, api_key="a")).status_code == 200
    assert post(fake, "/2/httpapi", body(ev, api_key="b")).status_code == 200
    assert post(fake, "/2/httpapi", body(ev, api_key="a")).status_code == 429


def test_daily_quota(fake):
    fake.configure(daily_limit=3)
    evs = [{"event_type": "x", "device_id": "daily-dev", "user_id": "daily-user"}] * 3
    assert post(fake, "/batch", body(evs)).status_code == 200
    r = post(fake, "/batch", body(evs[:1]))
    assert r.status_code == 429
    assert r.json() == {
        "code": 429,
        "error": "Too many requests for some devices and users",
        "eps_threshold": 0,
        "throttled_devices": {},
        "throttled_users": {},
        "exceeded_daily_quota_users": {"daily-user": 4},
        "exceeded_daily_quota_devices": {"daily-dev": 4},
        "throttled_events": [0],
    }


def test_silenced_devices(fake):
    fake.configure(silenced_devices=["silent-dev"])
    evs = [event(0), {"event_type": "x", "device_id": "silent-dev"}, {"event_type": "y", "device_id": "silent-dev"}]
    r = post(fake, "/2/httpapi", body(evs))
    assert r.status_code == 400
    assert r.json() == {
        "code": 400,
        "error": "Events silenced for device_id",
        "eps_threshold": 0,
        "exceeded_daily_quota_devices": {},
        "silenced_devices": ["silent-dev"],
        "silenced_events": [1, 2],
        "throttled_devices": {},
        "throttled_events": [],
    }


# ---- 5xx, latency, dropped connections ----


def test_fail_next_answers_5xx_then_recovers(fake):
    fake.configure(fail_next=2, fail_status=502)
    for _ in range(2):
        r = post(fake, "/2/httpapi", body([event()]))
        assert (r.status_code, r.json()) == (502, {"code": 502, "error": "Bad Gateway"})
    assert post(fake, "/2/httpapi", body([event()])).status_code == 200
    assert len(fake.events()) == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, {"code": 429, "error": "Too many requests for some devices and users", "eps_threshold": 0,
               "throttled_devices": {}, "throttled_users": {}, "throttled_events": []}),
        (413, {"code": 413, "error": "Payload too large"}),
        (500, {"code": 500, "error": "Internal Server Error"}),
        (504, {"code": 504, "error": "Gateway Timeout"}),
    ],
)
def test_fail_next_with_amplitude_bodies(fake, status, expected):
    fake.configure(fail_next=1, fail_status=status)
    r = post(fake, "/batch", body([event()]))
    assert (r.status_code, r.json()) == (status, expected)
    assert fake.events() == []


def test_error_rate_is_random_5xx_and_seeded(fake):
    def run():
        fake.reset()
        fake.configure(error_rate=0.5, seed=7)
        return [post(fake, "/batch", body([event(i)])).status_code for i in range(200)]

    first = run()
    assert first == run()  # same seed, same sequence
    failures = [s for s in first if s != 200]
    assert 60 <= len(failures) <= 140
    assert set(failures) <= {500, 502, 503, 504}
    assert len(set(failures)) > 1
    assert len(fake.events()) == first.count(200)


def test_error_rate_one_fails_everything_and_records_nothing(fake):
    fake.configure(error_rate=1.0, error_statuses=[503])
    r = post(fake, "/identify", None, data={"api_key": "k", "identification": '{"user_id":"user-1"}'})
    assert (r.status_code, r.json()) == (503, {"code": 503, "error": "Service Unavailable"})
    assert fake.events() == []
    assert fake.stats()["requests"]["/identify"] == {"503": 1}


def test_latency(fake):
    fake.configure(latency_ms=150)
    t0 = time.monotonic()
    assert post(fake, "/2/httpapi", body([event()])).status_code == 200
    assert time.monotonic() - t0 >= 0.15


def test_dropped_connection_records_nothing(fake):
    fake.configure(drop_next=1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(fake, "/2/httpapi", body([event()]))
    assert fake.events() == []
    assert post(fake, "/2/httpapi", body([event()])).status_code == 200
    assert fake.stats()["requests"]["/2/httpapi"] == {"dropped": 1, "200": 1}


def test_drop_after_accept_records_but_loses_the_answer(fake):
    fake.configure(drop_next=1, drop_mode="after")
    with pytest.raises(httpx.RemoteProtocolError):
        post(fake, "/2/httpapi", body([event(1, insert_id="retry-me")]))
    assert len(fake.events()) == 1
    # the client retries; insert_id dedupe keeps one copy
    assert post(fake, "/2/httpapi", body([event(1, insert_id="retry-me")])).status_code == 200
    assert len(fake.events()) == 1


def test_drop_rate(fake):
    fake.configure(drop_rate=1.0)
    with httpx.Client(base_url=fake.url) as client:
        for _ in range(3):
            with pytest.raises(httpx.RemoteProtocolError):
                client.post("/batch", json=body([event()]))
    fake.configure(drop_rate=0.0)
    assert post(fake, "/batch", body([event()])).status_code == 200


# ---- paths and regions ----


@pytest.mark.parametrize("path", PATHS)
def test_eu_prefix_keeps_the_api_path(fake, path):
    assert post(fake, "/eu" + path, body([event()])).status_code == 200
    [rec] = fake.events()
    assert (rec["path"], rec["region"]) == (path, "eu")
    assert fake.events(region="eu") == [rec]
    assert fake.events(region="na") == []


def test_eu_host_header(fake):
    r = post(fake, "/2/httpapi", body([event()]), headers={"host": "api.eu.amplitude.com"})
    assert r.status_code == 200
    assert fake.events()[0]["region"] == "eu"


def test_unknown_path_and_method(fake):
    r = post(fake, "/3/httpapi", body([event()]))
    assert (r.status_code, r.json()) == (404, {"code": 404, "error": "Invalid request path"})
    r = fake.client.get("/2/httpapi")
    assert r.status_code == 405


def test_keep_alive_connection_serves_many_requests(fake):
    with httpx.Client(base_url=fake.url) as client:
        for i in range(50):
            assert client.post("/2/httpapi", json=body([event(i)])).status_code == 200
    assert len(fake.events()) == 50
