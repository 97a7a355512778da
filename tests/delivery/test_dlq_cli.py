"""`amprelay dlq list|show|retry|purge`, and retried dead letters going back through delivery."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from _delivery_helpers import ev, events_req

from amprelay.cli.dlq import parse_when
from amprelay.cli.main import main
from amprelay.delivery import DeliveryService, DeliverySettings, EnqueueItem
from amprelay.fakeamp import run_in_thread
from amprelay.store import DeadLetterFilter, RetryItem
from amprelay.store.sqlite import SQLiteQueue


@pytest.fixture
def store(tmp_path):
    """Three events dead-lettered (two by 400s, one past its age) and two still queued."""
    path = tmp_path / "data" / "amprelay.sqlite3"
    q = SQLiteQueue(path)
    svc = DeliveryService(q, {})
    svc.enqueue_many([EnqueueItem("amp", f"m{i}", [events_req([ev(f"user-{i:04d}", i)])]) for i in range(3)])
    svc.enqueue_many([EnqueueItem("eu", "m3", [events_req([ev("user-0003", 3)], api_key="key-eu")])])
    svc.enqueue_many([EnqueueItem("amp", "m4", [events_req([ev("user-0004", 4)])])])
    leased = q.lease("w", 4, 60)
    q.dead_letter([(leased[0].id, "Amplitude 400: Invalid field values on some events: time (invalid)"),
                   (leased[1].id, "Amplitude 400: Request missing required field: event_type (missing)")], now=1000)
    q.dead_letter([(leased[3].id, "undelivered after 12 attempt(s) over 24.0h; last error: Amplitude 503")], now=2000)
    q.retry([RetryItem(leased[2].id, 0, None, False)])
    q.close()
    return path


def test_list_and_filters(store, capsys):
    assert main(["dlq", "list", "--db", str(store)]) == 0
    out = capsys.readouterr().out
    assert "m0" in out and "m1" in out and "m3" in out and "m2" not in out and "(3 dead letters)" in out
    assert main(["dlq", "list", "--db", str(store), "--destination", "amp", "--reason", "INVALID FIELD"]) == 0
    out = capsys.readouterr().out
    assert "m0" in out and "m1" not in out and "m3" not in out
    assert main(["dlq", "list", "--db", str(store), "--json", "--since", "1500"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    row = orjson.loads(line)
    assert row["message_id"] == "m3" and row["destination"] == "eu" and row["entry"]["user_id"] == "user-0003"
    assert row["kind"] == "events" and row["reason"].startswith("undelivered")
    assert main(["dlq", "list", "--data-dir", str(store.parent), "--user", "nobody"]) == 0
    assert "no dead letters match" in capsys.readouterr().out
    assert main(["dlq", "list", "--db", str(store.parent / "missing.sqlite3")]) == 1
    assert main(["dlq", "list", "--db", str(store), "--since", "yesterday-ish"]) == 2


def test_show(store, capsys):
    q = SQLiteQueue(store)
    first = q.list_dead()[0].id
    q.close()
    assert main(["dlq", "show", "--db", str(store), str(first)]) == 0
    out = capsys.readouterr().out
    assert f"dead letter {first}" in out and "time (invalid)" in out and '"event_type": "Song Played"' in out
    assert main(["dlq", "show", "--db", str(store), "99999"]) == 1


def test_retry_puts_them_back_through_delivery_and_purge_deletes(store, capsys):
    assert main(["dlq", "retry", "--db", str(store)]) == 2  # no filter, no --all
    assert main(["dlq", "retry", "--db", str(store), "--destination", "amp", "--dry-run"]) == 0
    assert "would put 2" in capsys.readouterr().out
    assert main(["dlq", "retry", "--db", str(store), "--destination", "amp"]) == 0
    assert "put 2 dead letter(s) back" in capsys.readouterr().out
    q = SQLiteQueue(store)
    assert q.count_dead() == 1 and q.stats().depth == 4
    fake = run_in_thread()
    try:
        svc = DeliveryService(q, {}, fake.url, settings=DeliverySettings(linger_ms=1, poll_seconds=0.02))

        async def deliver():
            await svc.start()
            assert await svc.drain(10)
            await svc.stop()

        asyncio.run(deliver())
        got = sorted(r["data"]["event_properties"]["n"] for r in fake.events())
        assert got == [0, 1, 2, 4]  # the two retried, and the two that were still queued
    finally:
        fake.stop()
        q.close()
    assert main(["dlq", "purge", "--db", str(store)]) == 2
    assert main(["dlq", "purge", "--db", str(store), "--all"]) == 0
    assert "deleted 1 dead letter(s)" in capsys.readouterr().out
    q = SQLiteQueue(store)
    assert q.count_dead(DeadLetterFilter()) == 0
    q.close()


def test_parse_when():
    assert parse_when("2h", now=10_000) == 10_000 - 7200
    assert parse_when("1700000000") == 1_700_000_000
    assert parse_when("2024-01-01T00:00:00Z") == 1_704_067_200
    assert parse_when("2024-01-01T00:00:00") == 1_704_067_200
    with pytest.raises(ValueError):
        parse_when("soon")
