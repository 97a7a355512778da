"""Basic-auth APIs (deletions, usersearch) and the /_fake control endpoints."""

from __future__ import annotations

import datetime as dt

import httpx
import orjson
import pytest

from amprelay.fakeamp import amplitude_id_for, run_in_thread
from tests.fakeamp.helpers import body, event

AUTH = ("key-1", "secret-1")


def test_deletions_require_basic_auth(fake):
    r = fake.client.post("/api/2/deletions/users", json={"user_ids": ["u1"], "requester": "segment"})
    assert r.status_code == 401
    r = httpx.post(
        fake.url + "/api/2/deletions/users",
        json={"user_ids": ["u1"]},
        headers={"authorization": "Basic !!notbase64"},
    )
    assert r.status_code == 401
    r = fake.client.post("/api/2/deletions/users", json={"user_ids": ["u1"]}, auth=("key-1", ""))
    assert r.status_code == 401
    assert fake.events() == []


def test_deletion_job_answer_and_record(fake):
    payload = {"user_ids": ["user-del"], "amplitude_ids": [12345], "requester": "segment"}
    r = fake.client.post("/api/2/deletions/users", json=payload, auth=AUTH)
    assert r.status_code == 200
    today = dt.datetime.now(dt.UTC).date()
    assert r.json() == [
        {
            "amplitude_ids": [
                {"amplitude_id": 12345, "requested_on_day": today.isoformat(), "requester": "segment"},
                {
                    "amplitude_id": amplitude_id_for("user-del"),
                    "requested_on_day": today.isoformat(),
                    "requester": "segment",
                    "user_id": "user-del",
                },
            ],
            "day": (today + dt.timedelta(days=30)).isoformat(),
            "status": "staging",
        }
    ]
    [rec] = fake.events(kind="deletion")
    assert (rec["path"], rec["api_key"], rec["data"]) == ("/api/2/deletions/users", "key-1", payload)
    listed = fake.client.get("/api/2/deletions/users", auth=AUTH, params={"start_day": "x", "end_day": "y"})
    assert listed.json() == r.json()


@pytest.mark.parametrize(
    "payload", [None, {"requester": "x"}, {"user_ids": "u1"}, {"user_ids": [f"u{i}" for i in range(101)]}]
)
def test_deletion_bad_requests(fake, payload):
    r = fake.client.post("/api/2/deletions/users", content=orjson.dumps(payload) if payload else b"", auth=AUTH)
    assert r.status_code == 400
    assert "error" in r.json()


def test_secret_keys_setting(fake):
    fake.configure(secret_keys=["right"])
    url = fake.url + "/api/2/usersearch"
    assert httpx.get(url, params={"user": "x"}, auth=("key-1", "wrong")).status_code == 401
    assert httpx.get(url, params={"user": "x"}, auth=("key-1", "right")).status_code == 200


def test_usersearch(fake):
    url = fake.url + "/api/2/usersearch"
    assert httpx.get(url, params={"user": "testUser@example.com"}).status_code == 401
    r = httpx.get(url, params={"user": "testUser@example.com"}, auth=AUTH)
    assert (r.status_code, r.json()) == (200, {"matches": [], "type": "nomatch"})
    assert httpx.get(url, auth=AUTH).status_code == 400
    fake.client.post("/2/httpapi", json=body([event(3)], api_key="key-1"))
    r = httpx.get(url, params={"user": "device-0003"}, auth=AUTH)
    expected = {"amplitude_id": amplitude_id_for("user-0003"), "user_id": "user-0003"}
    assert r.json() == {"matches": [expected], "type": "match_user_or_device_id"}
    r = httpx.get(url, params={"user": str(expected["amplitude_id"])}, auth=AUTH)
    assert r.json() == {"matches": [expected], "type": "match_amplitude_id"}
    # other projects do not see it
    assert httpx.get(url, params={"user": "user-0003"}, auth=("key-2", "s")).json()["type"] == "nomatch"


def test_usersearch_under_eu_prefix(fake):
    r = fake.client.get("/eu/api/2/usersearch", params={"user": "nobody"}, auth=AUTH)
    assert r.json() == {"matches": [], "type": "nomatch"}


# ---- control endpoints ----


def test_health(fake):
    assert fake.client.get("/_fake/health").json() == {"status": "ok"}
    assert fake.healthy()


def test_events_filters_since_and_limit(fake):
    fake.client.post("/2/httpapi", json=body([event(0), event(1)]))
    fake.client.post("/batch", json=body([event(2)], api_key="key-2"))
    fake.client.post("/identify", data={"api_key": "k", "identification": '{"user_id":"user-9"}'})
    assert len(fake.events()) == 4
    assert [r["data"]["user_id"] for r in fake.events(path="/2/httpapi")] == ["user-0000", "user-0001"]
    assert len(fake.events(kind="identification")) == 1
    assert len(fake.events(api_key="key-2")) == 1
    assert [r["path"] for r in fake.events(since=2)] == ["/batch", "/identify"]
    r = fake.client.get("/_fake/events", params={"since": 1, "limit": 2})
    assert [x["data"]["user_id"] for x in r.json()] == ["user-0001", "user-0002"]
    assert fake.client.get("/_fake/events", params={"since": "x"}).status_code == 400


def test_stats_and_reset(fake):
    fake.client.post("/2/httpapi", json=body([event(0)]))
    fake.client.post("/2/httpapi", json={"api_key": "k"})
    stats = fake.stats()
    assert stats["requests"] == {"/2/httpapi": {"200": 1, "400": 1}}
    assert stats["events_accepted"] == 1
    assert stats["records_total"] == 1
    fake.reset()
    stats = fake.stats()
    assert stats["requests"] == {}
    assert stats["records_total"] == 0
    assert fake.events() == []


def test_config_roundtrip_and_validation(fake):
    cfg = fake.configure(error_rate=0.25, invalid_api_keys=["x"], eps_limit=None)
    assert cfg["error_rate"] == 0.25
    assert cfg["invalid_api_keys"] == ["x"]
    assert fake.config()["error_rate"] == 0.25
    for bad in ({"error_rate": 2}, {"nope": 1}, {"error_statuses": [404]}, {"fail_next": -1}, {"drop_mode": "x"}):
        with pytest.raises(ValueError):
            fake.configure(**bad)
    assert fake.client.post("/_fake/config", content=b"[1]").status_code == 400
    assert fake.config()["error_rate"] == 0.25  # rejected changes leave the config alone


def test_max_records_keeps_positions(fake):
    fake.configure(max_records=10)
    for i in range(40):
        fake.client.post("/2/httpapi", json=body([event(i)]))
    stats = fake.stats()
    assert stats["records_total"] == 40
    assert stats["records_in_memory"] <= 15
    tail = fake.events(since=35)
    assert [r["data"]["user_id"] for r in tail] == [f"user-{i:04d}" for i in range(35, 40)]


def test_record_file_appends_jsonl(tmp_path):
    path = tmp_path / "rec.jsonl"
    fake = run_in_thread(record_path=str(path))
    try:
        fake.client.post("/2/httpapi", json=body([event(0), event(1)]))
        fake.client.post("/usermap", data={"api_key": "k", "mapping": '{"user_id":"a","global_user_id":"b"}'})
        fake.client.post("/2/httpapi", json={"api_key": "k"})  # rejected: not recorded
        lines = path.read_bytes().splitlines()  # flushed per request
        assert [orjson.loads(x) for x in lines] == fake.events()
        assert [orjson.loads(x)["kind"] for x in lines] == ["event", "event", "mapping"]
    finally:
        fake.stop()
    # a second server appends to the same file
    fake = run_in_thread(record_path=str(path))
    try:
        fake.client.post("/batch", json=body([event(5)]))
    finally:
        fake.stop()
    assert len(path.read_bytes().splitlines()) == 4
