"""The relay over real sockets: Segment-compatible ingest in, the local Amplitude out; what
arrives is exactly what `amprelay preview` predicts."""

from __future__ import annotations

import copy
import gzip
import re

import httpx
import orjson
import pytest

from amprelay.demo_events import sample_events
from amprelay.destination import PRESETS, Settings
from amprelay.engine import Subscription, compile_subscription
from tests.helpers.relay import API_KEY, WRITE_KEY, wait_for


def predicted_entries(events):
    """What preview says Amplitude gets for these messages under the presets: (path, entry)."""
    settings = Settings.from_dict({"apiKey": API_KEY, "secretKey": "e2e-secret", "endpoint": "north_america"})
    subs = [compile_subscription(Subscription(p.name, p.subscribe, p.action, p.mapping)) for p in PRESETS]
    out = []
    for ev in events:
        for sub in subs:
            if not sub.matches(ev):
                continue
            for req in sub.run(ev, settings):
                body = req.decoded_body()
                path = "/" + req.url.split("/", 3)[3]
                if "events" in body:
                    out.extend((path, e) for e in body["events"])
                else:
                    ident = body.get("identification")
                    out.extend((path, i) for i in (ident if isinstance(ident, list) else [ident]))
    return out


def post(relay, path, body, **kw):
    return httpx.post(relay.url + path, json=body, auth=(WRITE_KEY, ""), timeout=10, **kw)


def test_every_call_type_arrives_as_preview_predicts(start_relay, fake):
    relay = start_relay()
    events = sample_events()
    r = post(relay, "/v1/batch", {"batch": copy.deepcopy(events)})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}

    # the relay stamps messageId/receivedAt and may correct timestamps; predict from what it stored
    expected = predicted_entries(events)
    records = wait_for(lambda: len(fake.events()) >= len(expected) and fake.events())
    got = [(rec["path"], rec["data"]) for rec in records]
    assert len(got) == len(expected)
    for (gpath, gdata), (epath, edata) in zip(sorted(got, key=_k), sorted(expected, key=_k), strict=True):
        assert gpath == epath
        assert gdata == edata


def _k(pair):
    return (pair[0], orjson.dumps(pair[1], option=orjson.OPT_SORT_KEYS))


def test_single_message_endpoints_and_short_paths(start_relay, fake):
    relay = start_relay()
    for path, body in [
        ("/v1/track", {"event": "Clicked", "userId": "u-100001"}),
        ("/v1/t", {"event": "Clicked Short", "userId": "u-100002", "writeKey": WRITE_KEY}),
        ("/v1/page", {"name": "Pricing", "userId": "u-100003"}),
        ("/v1/screen", {"name": "Home", "userId": "u-100004"}),
        ("/v1/identify", {"userId": "u-100005", "traits": {"plan": "pro"}}),
    ]:
        r = post(relay, path, body)
        assert r.status_code == 200, (path, r.text)
    records = wait_for(lambda: len(fake.events()) >= 5 and fake.events())
    types = sorted(rec["data"].get("event_type", rec["path"]) for rec in records)
    assert types == sorted(["Clicked", "Clicked Short", "Viewed Pricing", "Viewed Home", "/identify"])


def test_text_plain_body_from_analytics_js(start_relay, fake):
    relay = start_relay()
    body = orjson.dumps({"event": "Beacon", "anonymousId": "anon-123456", "writeKey": WRITE_KEY})
    r = httpx.post(relay.url + "/v1/t", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 200
    wait_for(lambda: any(rec["data"].get("event_type") == "Beacon" for rec in fake.events()))


def test_gzip_batch(start_relay, fake):
    relay = start_relay()
    batch = {"batch": [{"type": "track", "event": f"E{i}", "userId": f"user-{i:05d}"} for i in range(50)]}
    r = httpx.post(relay.url + "/v1/batch", content=gzip.compress(orjson.dumps(batch)),
                   headers={"content-encoding": "gzip", "content-type": "application/json"}, auth=(WRITE_KEY, ""))
    assert r.status_code == 200, r.text
    wait_for(lambda: len(fake.events()) >= 50)


def test_cors_preflight(start_relay):
    relay = start_relay()
    r = httpx.options(relay.url + "/v1/t", headers={"origin": "https://shop.example", "access-control-request-method": "POST",
                                                  "access-control-request-headers": "content-type"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] in ("*", "https://shop.example")


def test_invalid_messages_in_a_batch_do_not_sink_the_others(start_relay, fake):
    relay = start_relay()
    batch = [
        {"type": "track", "event": "Good 1", "userId": "user-00001"},
        {"type": "track", "userId": "user-00002"},  # no event
        {"event": "no type", "userId": "user-00003"},
        {"type": "track", "event": "no ids"},
        "not an object",
        {"type": "track", "event": "Good 2", "anonymousId": "anon-00005"},
    ]
    r = post(relay, "/v1/batch", {"batch": batch})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert [x["index"] for x in body["rejected"]] == [1, 2, 3, 4]
    assert all(x["reason"] for x in body["rejected"])
    wait_for(lambda: len(fake.events()) >= 2)
    assert sorted(e["data"]["event_type"] for e in fake.events()) == ["Good 1", "Good 2"]
    dead = relay.service.relay.queue.list_dead()
    assert len(dead) == 1  # one record per request: counts and samples
    record = orjson.loads(dead[0].entry)
    assert record["rejected"] == 4 and record["reasons"] == {"invalid_message": 3, "not_an_object": 1}
    assert [s["index"] for s in record["samples"]] == [1, 2, 3, 4]
    assert "4 message(s) rejected" in dead[0].reason


@pytest.mark.parametrize(
    ("path", "kwargs", "status"),
    [
        ("/v1/track", {"content": b"{not json"}, 400),
        ("/v1/track", {"content": b"[]"}, 400),
        ("/v1/batch", {"content": b'{"batch": 5}'}, 400),
        ("/v1/track", {"content": orjson.dumps({"event": "x", "userId": "u", "properties": {"b": "a" * 40000}})}, 413),
        ("/v1/batch", {"content": orjson.dumps({"batch": [{"type": "track", "event": "x" * 1000, "userId": "u"}] * 600})}, 413),
        ("/v1/nope", {"content": b"{}"}, 404),
        ("/v1/track", {"content": b'{"userId": "u"}'}, 400),  # track without event
        ("/v1/track", {"content": gzip.compress(b'{"event":"x"}')[:-5], "headers": {"content-encoding": "gzip"}}, 400),
    ],
)
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(start_relay, fake, path, kwargs, status):
    relay = start_relay()
    r = httpx.post(relay.url + path, auth=(WRITE_KEY, ""), timeout=10, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["message"]
    ok = post(relay, "/v1/track", {"event": "Still Here", "userId": "user-77777"})
    assert ok.status_code == 200
    wait_for(lambda: any(e["data"].get("event_type") == "Still Here" for e in fake.events()))


def test_write_key_required_and_checked(start_relay):
    relay = start_relay()
    r = httpx.post(relay.url + "/v1/track", json={"event": "x", "userId": "u"})
    assert r.status_code == 401 and "write key" in r.json()["message"]
    r = httpx.post(relay.url + "/v1/track", json={"event": "x", "userId": "u"}, auth=("wrong-key", ""))
    assert r.status_code == 401
    assert "wrong-key" not in r.text  # the key is never echoed


def test_integrations_all_false_skips_the_destination(start_relay, fake):
    relay = start_relay()
    post(relay, "/v1/track", {"event": "Skipped", "userId": "user-1", "integrations": {"All": False}})
    post(relay, "/v1/track", {"event": "Kept", "userId": "user-2",
                             "integrations": {"All": False, "Actions Amplitude": {"session_id": 1704067200000}}})
    wait_for(lambda: fake.events())
    names = [e["data"]["event_type"] for e in fake.events()]
    assert names == ["Kept"]
    assert fake.events()[0]["data"]["session_id"] == 1704067200000


def test_health_ready_metrics_and_session_plugin(start_relay):
    relay = start_relay()
    assert httpx.get(relay.url + "/health").json() == {"status": "ok"}
    assert httpx.get(relay.url + "/ready").status_code == 200
    post(relay, "/v1/track", {"event": "Counted", "userId": "user-3"})
    metrics = httpx.get(relay.url + "/metrics").text
    assert "amprelay_events_received_total" in metrics
    assert re.search(r"^amprelay_inbox_depth \d", metrics, re.M)  # messages accepted, not yet mapped
    js = httpx.get(relay.url + "/plugins/amplitude-session.js")
    assert js.status_code == 200 and "analytics_session_id" in js.text
