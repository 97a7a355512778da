"""Segment's official Python SDK (segment-analytics-python, from PyPI) pointed at `amprelay
serve`, sending each call type; the local Amplitude must receive exactly what `amprelay
preview` predicts for the messages the relay stored."""

from __future__ import annotations

import httpx
import orjson
import pytest

from amprelay.destination import PRESETS, Settings
from amprelay.engine import Subscription, compile_subscription
from tests.helpers.relay import API_KEY, WRITE_KEY, wait_for

segment = pytest.importorskip("segment.analytics", reason="segment-analytics-python is not installed")

EXTRA = """    subscriptions:
      - name: Group Calls
        trigger: type = "group"
        action: groupIdentifyUser
        mapping: {defaults: true, group_type: company, group_value: {"@path": "$.groupId"}}
      - name: Alias Calls
        trigger: type = "alias"
        action: mapUser
"""


def entries_of(request):
    body = request.decoded_body()
    path = "/" + request.url.split("/", 3)[3]
    if "events" in body:
        return [(path, e) for e in body["events"]]
    items = body.get("identification", body.get("mapping"))
    return [(path, i) for i in (items if isinstance(items, list) else [items])]


def test_official_python_sdk_end_to_end(start_relay, fake, monkeypatch):
    relay = start_relay(extra=EXTRA)
    stored: list[dict] = []
    original = relay.service.relay.transform

    def spy(source, message, *args, **kwargs):  # what the relay stored, for the prediction
        stored.append(orjson.loads(orjson.dumps(message)))
        return original(source, message, *args, **kwargs)

    monkeypatch.setattr(relay.service.relay, "transform", spy)

    client = segment.Client(write_key=WRITE_KEY, host=relay.url, sync_mode=True, max_retries=1)
    ctx = {"userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/120.0.0.0 Safari/537.36", "ip": "203.0.113.9", "locale": "en-GB"}
    client.identify("sdk-user-0001", {"email": "sdk@example.com", "plan": "pro"}, context=ctx)
    client.track("sdk-user-0001", "Song Played", {"title": "Blue", "duration": 215}, context=ctx)
    client.track("sdk-user-0001", "Order Completed", {"revenue": 12.5, "products": [
        {"productId": "p1", "price": 5, "quantity": 1}, {"productId": "p2", "price": 7.5, "quantity": 1}]},
        context=ctx)
    client.page("sdk-user-0001", category="Docs", name="Install", properties={"path": "/install"}, context=ctx)
    client.screen("sdk-user-0001", category="App", name="Settings", context=ctx)
    client.group("sdk-user-0001", "acme-inc", {"name": "Acme", "employees": 40}, context=ctx)
    client.alias("sdk-user-0001-previous", "sdk-user-0001", context=ctx)
    client.flush()

    # Each call was acknowledged once durable in the inbox; the processor maps them right after.
    wait_for(lambda: len(stored) >= 7, timeout=20)
    assert len(stored) == 7, stored
    settings = Settings.from_dict({"apiKey": API_KEY, "secretKey": "e2e-secret", "endpoint": "north_america"})
    subs = [compile_subscription(Subscription(p.name, p.subscribe, p.action, p.mapping)) for p in PRESETS]
    from amprelay.config import all_subscriptions, resolved_mapping

    extra = [s for s in all_subscriptions(relay.service.config.destinations[0]) if s.name in ("Group Calls",
                                                                                            "Alias Calls")]
    subs += [compile_subscription(Subscription(s.name, s.trigger, s.action, resolved_mapping(s))) for s in extra]
    expected = []
    for msg in stored:
        for sub in subs:
            if sub.matches(msg):
                for req in sub.run(msg, settings):
                    expected.extend(entries_of(req))

    def key(pair):
        return (pair[0], orjson.dumps(pair[1], option=orjson.OPT_SORT_KEYS))

    records = wait_for(lambda: len(fake.events()) >= len(expected) and fake.events(), timeout=20)
    got = [(r["path"], r["data"]) for r in records]
    # groupIdentifyUser's time is "now" when the event has none: compare it loosely
    for pairs in (got, expected):
        for _, data in pairs:
            if isinstance(data, dict) and "time" in data and data.get("library") == "segment" and "groups" in data:
                data["time"] = "<now>"
    assert sorted(got, key=key) == sorted(expected, key=key)
    kinds = {p for p, _ in got}
    assert kinds == {"/2/httpapi", "/identify", "/groupidentify", "/usermap"}
    assert httpx.get(relay.url + "/health").status_code == 200
