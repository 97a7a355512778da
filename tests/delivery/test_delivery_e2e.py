"""Delivery end to end over real sockets against the local Amplitude (amprelay.fakeamp)."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from amprelay.delivery import DeliveryService, DeliverySettings, EnqueueItem
from amprelay.destination.request import AmplitudeRequest
from amprelay.fakeamp import run_in_thread
from amprelay.store import DeadLetterFilter
from amprelay.store.sqlite import SQLiteQueue
from tests.delivery.helpers import NA, ev, events_req, group_req, identify_req

FAST = dict(linger_ms=5, backoff_base_seconds=0.05, backoff_max_seconds=0.2, throttle_seconds=0.3,
            hold_seconds=0.3, poll_seconds=0.02, timeout_seconds=2.0, stats_interval_seconds=0.2)


@pytest.fixture(scope="module")
def fake():
    f = run_in_thread()
    yield f
    f.stop()


@pytest.fixture
def amp(fake):
    fake.reset()
    fake.configure(error_rate=0.0, drop_rate=0.0, latency_ms=0.0, fail_next=0, drop_next=0, eps_limit=None,
                   daily_limit=None, max_body_bytes=None, max_events_per_request=2000, invalid_api_keys=[],
                   valid_api_keys=[], silenced_devices=[])
    return fake


@pytest.fixture
def queue(tmp_path):
    q = SQLiteQueue(tmp_path / "q.sqlite3")
    yield q
    q.close()


def run(queue, amp, enqueue, *, until=None, timeout=20.0, during=None, **settings):
    """Start a service, enqueue, wait for ``until()`` (default: queue empty), stop."""
    svc = DeliveryService(queue, {}, amp.url, settings=DeliverySettings(**{**FAST, **settings}))

    async def main():
        await svc.start()
        await asyncio.to_thread(enqueue, svc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if during is not None:
                await asyncio.to_thread(during, svc)
            done = until(svc) if until else queue.stats().depth == 0
            if done:
                break
            await asyncio.sleep(0.05)
        await svc.stop()

    asyncio.run(main())
    return svc


def delivered(amp, path=None):
    return [r["data"] for r in amp.events(path=path)]


def metric(svc, name, **labels):
    v = svc.metrics.registry.get_sample_value(name, labels)
    return v or 0.0


def test_mixed_requests_arrive_exactly_as_the_actions_made_them(queue, amp):
    messages = []
    for i in range(40):
        user = f"user-{i % 5:04d}"
        messages.append((f"m{i}", [events_req([ev(user, i, time=1700000000000 + i)])]))
        if i % 10 == 0:
            messages.append((f"i{i}", [identify_req({"user_id": user, "user_properties": {"i": i}})]))
    messages.append(("g1", [
        AmplitudeRequest("POST", NA + "/identify", "form", form={
            "api_key": "key-1", "identification": orjson.dumps([{"user_id": "user-0001", "groups": {"org": "acme"}}]
                                                              ).decode(), "options": "undefined"}),
        group_req([{"group_properties": {"size": 3}, "group_value": "acme", "group_type": "org",
                    "library": "segment"}])]))
    messages.append(("u1", [AmplitudeRequest("POST", "https://api.amplitude.com/usermap", "form", form={
        "api_key": "key-1", "mapping": orjson.dumps([{"user_id": "user-0002", "global_user_id": "g-0002"}]).decode()})]))
    messages.append(("b1", [events_req([ev("user-0003", 99, use_batch_endpoint=True)], path="/batch",
                                       options={"min_id_length": 1})]))

    def enqueue(svc):
        for mid, reqs in messages:
            svc.enqueue_requests("amp", mid, reqs, subscription="s")

    svc = run(queue, amp, enqueue)
    got = delivered(amp, "/2/httpapi")
    assert len(got) == 40
    for user in {e["user_id"] for e in got}:  # per user, in the order they were sent
        ns = [e["event_properties"]["n"] for e in got if e["user_id"] == user]
        assert ns == sorted(ns)
    sent = [e for _, reqs in messages for r in reqs if r.encoding == "json" and r.url.endswith("httpapi")
            for e in r.json["events"]]
    strip = [{k: v for k, v in e.items() if k != "insert_id"} for e in got]
    assert sorted(strip, key=lambda e: e["event_properties"]["n"]) == sent
    assert len({e["insert_id"] for e in got}) == 40
    idents = delivered(amp, "/identify")
    assert len(idents) == 5
    assert [r["data"] for r in amp.events(path="/groupidentify")] == [
        {"group_properties": {"size": 3}, "group_value": "acme", "group_type": "org", "library": "segment"}]
    assert delivered(amp, "/usermap") == [{"user_id": "user-0002", "global_user_id": "g-0002"}]
    [batch_rec] = amp.events(path="/batch")
    assert batch_rec["options"] == {"min_id_length": 1} and batch_rec["data"]["use_batch_endpoint"] is True
    assert metric(svc, "amprelay_units_delivered_total", destination="amp") == 48
    assert metric(svc, "amprelay_units_enqueued_total", destination="amp") == 48
    assert queue.count_dead() == 0


def test_400_dead_letters_only_the_invalid_events_and_resends_the_rest(queue, amp):
    events = [ev(f"user-{i:04d}", i) for i in range(10)]
    events[3] = {"user_id": "user-0003", "event_properties": {"n": 3}}  # no event_type
    events[7] = ev("user-0007", 7, time="yesterday")  # invalid time

    def enqueue(svc):
        svc.enqueue_many([EnqueueItem("amp", f"m{i}", [events_req([e])]) for i, e in enumerate(events)])

    svc = run(queue, amp, enqueue)
    assert sorted(e["event_properties"]["n"] for e in delivered(amp)) == [0, 1, 2, 4, 5, 6, 8, 9]
    assert amp.stats()["requests"]["/2/httpapi"] == {"400": 1, "200": 1}  # one batch, then the rest again
    dead = queue.list_dead()
    assert sorted(orjson.loads(d.entry)["event_properties"]["n"] for d in dead) == [3, 7]
    reasons = {orjson.loads(d.entry)["event_properties"]["n"]: d.reason for d in dead}
    assert "event_type (missing)" in reasons[3] and "time (invalid)" in reasons[7]
    assert metric(svc, "amprelay_units_dead_lettered_total", destination="amp") == 2


def test_413_splits_and_resends_everything(queue, amp):
    amp.configure(max_events_per_request=7)

    def enqueue(svc):  # one transaction: the first round leases all of them
        svc.enqueue_many([EnqueueItem("amp", f"m{i}", [events_req([ev(f"user-{i % 9:04d}", i)])]) for i in range(60)])

    run(queue, amp, enqueue)
    assert sorted(e["event_properties"]["n"] for e in delivered(amp)) == list(range(60))
    assert amp.stats()["requests"]["/2/httpapi"].get("413", 0) >= 1
    assert queue.count_dead() == 0


def test_413_on_bytes_then_a_single_oversized_event_is_dead_lettered(queue, amp):
    amp.configure(max_body_bytes=2000)

    def enqueue(svc):
        items = [EnqueueItem("amp", f"m{i}", [events_req([ev(f"user-{i:04d}", i)])]) for i in range(30)]
        items.append(EnqueueItem("amp", "huge", [events_req([ev("user-9999", 999, blob="x" * 5000)])]))
        svc.enqueue_many(items)

    run(queue, amp, enqueue)
    assert sorted(e["event_properties"]["n"] for e in delivered(amp)) == list(range(30))
    [dead] = queue.list_dead()
    assert dead.message_id == "huge" and "413" in dead.reason


def test_429_backs_off_only_the_throttled_users(queue, amp):
    amp.configure(eps_limit=5, eps_window_s=1.0)
    t0 = time.monotonic()
    first_light: list[float] = []

    def enqueue(svc):
        for i in range(12):
            svc.enqueue_requests("amp", f"h{i}", [events_req([ev("heavy-user", i)])])
        for i in range(20):
            svc.enqueue_requests("amp", f"l{i}", [events_req([ev(f"light-{i:04d}", 100 + i)])])

    def during(svc):
        if not first_light and sum(1 for e in delivered(amp) if e["user_id"].startswith("light")) == 20:
            first_light.append(time.monotonic() - t0)

    svc = run(queue, amp, enqueue, during=during, timeout=30)
    got = delivered(amp)
    heavy = [e["event_properties"]["n"] for e in got if e["user_id"] == "heavy-user"]
    assert heavy == list(range(12))  # all of them, in order
    assert sum(1 for e in got if e["user_id"].startswith("light")) == 20
    assert first_light and first_light[0] < 2.0  # the others were not held back
    assert metric(svc, "amprelay_units_throttled_total", destination="amp") > 0
    assert queue.count_dead() == 0


def test_5xx_and_dropped_connections_are_retried_and_deduplicated(queue, amp):
    amp.configure(fail_next=3, fail_status=503)

    def enqueue(svc):
        for i in range(10):
            svc.enqueue_requests("amp", f"m{i}", [events_req([ev(f"user-{i:04d}", i)])])

    svc = run(queue, amp, enqueue)
    assert sorted(e["event_properties"]["n"] for e in delivered(amp)) == list(range(10))
    assert metric(svc, "amprelay_units_retried_total", destination="amp", reason="error") >= 1

    amp.reset()
    amp.configure(drop_next=2, drop_mode="after")  # Amplitude took them, the answer got lost

    def enqueue2(svc):
        for i in range(10):
            svc.enqueue_requests("amp", f"n{i}", [events_req([ev(f"user-{i:04d}", i)])])

    run(queue, amp, enqueue2)
    got = delivered(amp)
    assert sorted(e["event_properties"]["n"] for e in got) == list(range(10))
    assert amp.stats()["duplicates"] >= 1  # resent, and deduplicated by the stable insert_id
    assert queue.count_dead() == 0


def test_timeouts_are_retried_without_losing_or_duplicating(queue, amp):
    amp.configure(latency_ms=1500)

    def during(svc):
        st = amp.stats()["requests"].get("/2/httpapi", {})
        if st and amp.config()["latency_ms"]:
            amp.configure(latency_ms=0)

    def enqueue(svc):
        for i in range(10):
            svc.enqueue_requests("amp", f"m{i}", [events_req([ev(f"user-{i:04d}", i)])])

    svc = run(queue, amp, enqueue, during=during, timeout_seconds=0.5, timeout=20)
    time.sleep(1.6)  # requests that timed out on our side finish on the fake's side
    assert sorted(e["event_properties"]["n"] for e in delivered(amp)) == list(range(10))
    assert metric(svc, "amprelay_amplitude_requests_total", destination="amp", status="error") >= 1
    assert queue.count_dead() == 0


def test_an_invalid_api_key_holds_events_loudly_until_fixed(queue, amp, caplog):
    amp.configure(invalid_api_keys=["bad-key"])
    held_seen: list[bool] = []

    def enqueue(svc):
        for i in range(5):
            svc.enqueue_requests("amp", f"m{i}", [events_req([ev(f"user-{i:04d}", i)], api_key="bad-key")])
        svc.enqueue_requests("amp", "ok", [events_req([ev("user-ok-1", 50)])])
        svc.enqueue_requests("amp", "id", [identify_req({"user_id": "user-0001"}, api_key="bad-key")])

    def until(svc):
        if not held_seen:
            gauge = metric(svc, "amprelay_destination_api_key_invalid", destination="amp")
            if gauge == 1 and queue.stats().depth == 6 and delivered(amp) and delivered(amp)[0]["user_id"] == "user-ok-1":
                held_seen.append(True)
                time.sleep(1.0)  # several hold periods: still held, never dead-lettered
                assert queue.stats().depth == 6 and queue.count_dead() == 0
                amp.configure(invalid_api_keys=[])
            return False
        return queue.stats().depth == 0

    svc = run(queue, amp, enqueue, until=until, timeout=20)
    assert held_seen
    assert len(delivered(amp, "/2/httpapi")) == 6 and len(delivered(amp, "/identify")) == 1
    assert queue.count_dead() == 0
    assert metric(svc, "amprelay_destination_api_key_invalid", destination="amp") == 0
    assert any("API key" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_past_the_maximum_age_events_go_to_the_dead_letter_store(queue, amp):
    amp.configure(error_rate=1.0, error_statuses=[502])

    def enqueue(svc):
        for i in range(3):
            svc.enqueue_requests("amp", f"m{i}", [events_req([ev(f"user-{i:04d}", i)])])

    run(queue, amp, enqueue, max_age_seconds=0.5)
    dead = queue.list_dead(DeadLetterFilter(reason_contains="undelivered"))
    assert len(dead) == 3 and "502" in dead[0].reason and dead[0].attempts >= 2
    assert delivered(amp) == []


def test_random_faults_keep_every_users_order_and_deliver_exactly_once(queue, amp):
    amp.configure(error_rate=0.25, drop_rate=0.15, drop_mode="after", seed=11, max_events_per_request=40)
    users = [f"user-{u:04d}" for u in range(25)]

    def enqueue(svc):
        items = [EnqueueItem("amp", f"m{i}", [events_req([ev(users[(i * 7) % 25], i)])]) for i in range(1500)]
        for k in range(0, len(items), 100):
            svc.enqueue_many(items[k:k + 100])

    run(queue, amp, enqueue, timeout=60, concurrency=4, lease_units=150)
    got = delivered(amp)
    assert sorted(e["event_properties"]["n"] for e in got) == list(range(1500))  # once each
    for user in users:
        ns = [e["event_properties"]["n"] for e in got if e["user_id"] == user]
        assert ns == sorted(ns), user
    st = amp.stats()
    assert st["duplicates"] > 0 and st["requests"]["/2/httpapi"].get("413", 0) > 0
    assert queue.count_dead() == 0


def test_a_round_the_store_cannot_record_is_recorded_later_and_never_resent(tmp_path, amp, caplog):
    """A full disk at settlement: Amplitude accepted the units but the store refused the ack. The
    worker leases nothing more and records the same outcome again until the store writes."""
    import sqlite3

    class FullDisk(SQLiteQueue):
        refusals = 3

        def settle(self, *a, **k):
            if self.refusals:
                self.refusals -= 1
                raise sqlite3.OperationalError("database or disk is full")
            return super().settle(*a, **k)

    q = FullDisk(tmp_path / "full.sqlite3")
    try:
        def enqueue(svc):
            for i in range(20):
                svc.enqueue_requests("amp", f"m{i}", [events_req([ev(f"user-{i:04d}", i)])])

        svc = run(q, amp, enqueue, timeout=20)
        assert q.stats().depth == 0 and q.refusals == 0
        sent = [e["data"]["insert_id"] for e in amp.events(path="/2/httpapi")]
        assert len(sent) == 20 and amp.stats().get("duplicates", 0) == 0  # nothing went out twice
        assert sum("cannot record delivery outcomes" in r.getMessage() for r in caplog.records) == 1
        assert svc.metrics.registry.get_sample_value("amprelay_units_delivered_total", {"destination": "amp"}) == 20
    finally:
        q.close()
