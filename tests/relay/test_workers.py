"""Mapping split over processes (`serve --workers`): each message becomes units exactly once and
each user's messages stay in order, whatever the number of shards, also when it changes between
runs with rows half consumed; the main process's metrics add the workers' counts."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest

from amprelay.delivery.metrics import Metrics
from amprelay.relay.inbox import InboxProcessor, Shard
from amprelay.relay.workers import MergedMetrics, reshard, snapshot
from amprelay.store.inbox import SQLiteInbox
from amprelay.store.sqlite import SQLiteQueue


class Recorder:
    """Stands in for the relay: a message's "units" are its (user, n), stored with the receipt."""

    def __init__(self, queue: SQLiteQueue):
        self.queue = queue
        self.mapped: list[tuple[str, int]] = []

    def process_inbox(self, rows):
        return [(m["userId"], m["n"]) for _id, _src, payload, reason in rows if reason is None for m in payload]

    def store(self, result, consumed):
        self.queue.enqueue_with_dead([], [], consumed)  # the receipt's transaction
        self.mapped.extend(result)


def append(inbox: SQLiteInbox, start: int, count: int) -> None:
    for r in range(start, start + count):
        inbox.append("src", orjson.dumps([{"userId": f"u{(r * 3 + i) % 7}", "n": r * 5 + i} for i in range(5)]))


def drain(inbox: SQLiteInbox, rec: Recorder, shards: int, rows: int | None = None) -> None:
    """Run each shard's processor (``rows``: at most that many rows each)."""
    for k in range(shards):
        p = InboxProcessor(inbox, rec.process_inbox, rec.store, batch=1, shard=Shard(k, shards))
        for _ in range(rows if rows is not None else 10_000):
            if not p.drain_once():
                break


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), min_size=1, max_size=5))
def test_every_message_is_mapped_once_in_order_across_shard_changes(tmp_path_factory, runs):
    """``runs``: (shards, rows each shard consumes before the run ends) for successive runs, with
    rows appended before each; the last run drains everything."""
    path = tmp_path_factory.mktemp("shards") / "q.sqlite3"
    queue = SQLiteQueue(path)
    inbox = SQLiteInbox(queue.db)
    rec = Recorder(queue)
    appended = 0
    for shards, rows in runs:
        append(inbox, appended, 3)
        appended += 3
        reshard(inbox, rec, shards, "partition")  # what serve does before it starts
        if shards:
            drain(inbox, rec, shards, rows)
        else:
            p = InboxProcessor(inbox, rec.process_inbox, rec.store, batch=1)
            for _ in range(rows):
                p.drain_once()
    reshard(inbox, rec, 0, "partition")
    InboxProcessor(inbox, rec.process_inbox, rec.store).drain_once(10_000)
    ns = [n for _, n in rec.mapped]
    assert sorted(ns) == list(range(appended * 5)), "a message was lost or mapped twice"
    per_user: dict[str, list[int]] = {}
    for user, n in rec.mapped:
        per_user.setdefault(user, []).append(n)
    assert all(v == sorted(v) for v in per_user.values()), "a user's messages were mapped out of order"
    assert inbox.depth() == 0 and inbox.cursors() == ({}, "")
    inbox.close()
    queue.close()


def test_rows_leave_the_inbox_once_every_shard_has_passed_them(tmp_path):
    queue = SQLiteQueue(tmp_path / "q.sqlite3")
    inbox = SQLiteInbox(queue.db)
    rec = Recorder(queue)
    append(inbox, 0, 4)
    inbox.set_shards(2)
    drain(inbox, rec, 1)  # shard 0 only
    assert inbox.depth() == 4
    assert inbox.cursors()[0] == {0: 4, 1: 0}
    drain(inbox, rec, 2)
    assert inbox.depth() == 0
    inbox.close()
    queue.close()


def test_a_user_goes_to_one_shard_by_user_then_device_then_anonymous_id():
    s = Shard(0, 4)
    assert s.of({"userId": "u1", "anonymousId": "a"}) == s.of({"userId": "u1", "anonymousId": "b"})
    assert s.of({"anonymousId": "a", "context": {"device": {"id": "d"}}}) == s.of({"anonymousId": "x",
                                                                                 "context": {"device": {"id": "d"}}})
    sessions = Shard(0, 4, by_session=True)  # server-side sessions: the device's state in one process
    assert sessions.of({"userId": "u1", "context": {"device": {"id": "d"}}}) == \
        sessions.of({"userId": "u2", "context": {"device": {"id": "d"}}})


def test_merged_metrics_add_the_workers_counters_and_keep_the_main_process_gauges():
    main, mapper, delivery = Metrics(), Metrics(), Metrics()
    main.received.labels("web").inc(10)
    main.queue_depth.labels("amplitude").set(3)
    mapper.mapped.labels("amplitude", "logEventV2").inc(7)
    mapper.enqueued.labels("amplitude").inc(7)
    delivery.delivered.labels("amplitude").inc(4)
    delivery.queue_depth.labels("amplitude").set(99)  # stale: the main process reads the store itself
    delivery.api_key_invalid.labels("amplitude").set(1)
    delivery.batch_size.labels("events").observe(4)
    retired = Metrics()  # a delivery process that was restarted
    retired.delivered.labels("amplitude").inc(2)
    text = generate_latest(MergedMetrics(main.registry, [snapshot(r.registry) for r in (mapper, delivery, retired)]))
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.decode().splitlines()
             if line and not line.startswith("#")}
    assert lines['amprelay_events_received_total{source="web"}'] == 10
    assert lines['amprelay_events_mapped_total{action="logEventV2",destination="amplitude"}'] == 7
    assert lines['amprelay_units_delivered_total{destination="amplitude"}'] == 6
    assert lines['amprelay_queue_depth{destination="amplitude"}'] == 3
    assert lines['amprelay_destination_api_key_invalid{destination="amplitude"}'] == 1
    assert lines['amprelay_batch_size_count{api="events"}'] == 1
    assert text.decode().count("# TYPE amprelay_units_delivered_total counter") == 1  # one family, as usual
