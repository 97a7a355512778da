"""`amprelay dlq list|show|retry|purge`, and retried dead letters going back through delivery:
every test runs on SQLite and on PostgreSQL (a schema of its own, as tests/queue/conftest.py)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from amprelay.cli.dlq import parse_when
from amprelay.cli.main import main
from amprelay.delivery import DeliveryService, DeliverySettings, EnqueueItem
from amprelay.fakeamp import run_in_thread
from amprelay.store import DeadLetterFilter, RetryItem
from amprelay.store.sqlite import SQLiteQueue
from tests.delivery.helpers import ev, events_req
from tests.helpers.postgres import PG_DSN, PgSchemas, pg_available
from tests.requirements import require


class Store:
    """Where a test's dead letters are: the CLI arguments that name the store, and an opener."""

    def __init__(self, backend: str, where: str, tmp_path):
        self.backend = backend
        self.where = where
        self.tmp_path = tmp_path

    def args(self) -> list[str]:
        return ["--db", self.where] if self.backend == "sqlite" else ["--dsn", self.where]

    def by_config(self) -> list[str]:
        """The store named by a config file instead (SQLite: by the data dir)."""
        if self.backend == "sqlite":
            return ["--data-dir", str(self.tmp_path / "data")]
        config = self.tmp_path / "pg.yaml"
        config.write_text(f"queue: {{backend: postgres, dsn: '{self.where}'}}\n")
        return ["--config", str(config)]

    def missing(self) -> list[str]:
        if self.backend == "sqlite":
            return ["--db", str(self.tmp_path / "missing.sqlite3")]
        return ["--dsn", self.where.replace("search_path%3Damprelay_t_", "search_path%3Dnothing_")]

    def open(self):
        if self.backend == "sqlite":
            return SQLiteQueue(self.where)
        from amprelay.store.postgres import PostgresQueue

        return PostgresQueue(self.where)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """Three events dead-lettered (two by 400s, one past its age) and two still queued."""
    schemas = None
    if request.param == "postgres":
        require(pg_available(), f"PostgreSQL is not reachable at {PG_DSN}")
        schemas = PgSchemas()
        where = schemas.dsn()
    else:
        where = str(tmp_path / "data" / "amprelay.sqlite3")
    s = Store(request.param, where, tmp_path)
    q = s.open()
    svc = DeliveryService(q, {})
    svc.enqueue_many([EnqueueItem("amp", f"m{i}", [events_req([ev(f"user-{i:04d}", i)])]) for i in range(3)])
    svc.enqueue_many([EnqueueItem("eu", "m3", [events_req([ev("user-0003", 3)], api_key="key-eu")])])
    svc.enqueue_many([EnqueueItem("amp", "m4", [events_req([ev("user-0004", 4)])])])
    leased = q.lease("w", 4, 60)
    q.dead_letter([(leased[0].id, "Amplitude 400: Invalid field values on some events: time (invalid)"),
                   (leased[1].id, "Amplitude 400: Request missing required field: event_type (missing)")], now=1000)
    q.dead_letter([(leased[3].id, "undelivered after 12 attempt(s) over 24.0h; last error: Amplitude 503")], now=2000)
    q.retry([RetryItem(leased[2].id, 0, None, False)])
    # the setup's worker stops as a relay does: on PostgreSQL a worker still counted live would
    # keep half the buckets (and the units in them) for its bucket lease, 10 s, as long as the
    # test's drain waits (CI, under load, failed on that margin)
    q.release("w")
    q.close()
    yield s
    if schemas is not None:
        schemas.drop()


def test_list_and_filters(store, capsys):
    assert main(["dlq", "list", *store.args()]) == 0
    out = capsys.readouterr().out
    assert "m0" in out and "m1" in out and "m3" in out and "m2" not in out and "(3 dead letters)" in out
    assert main(["dlq", "list", *store.args(), "--destination", "amp", "--reason", "INVALID FIELD"]) == 0
    out = capsys.readouterr().out
    assert "m0" in out and "m1" not in out and "m3" not in out
    assert main(["dlq", "list", *store.args(), "--json", "--since", "1500"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    row = orjson.loads(line)
    assert row["message_id"] == "m3" and row["destination"] == "eu" and row["entry"]["user_id"] == "user-0003"
    assert row["kind"] == "events" and row["reason"].startswith("undelivered")
    assert main(["dlq", "list", *store.by_config(), "--user", "nobody"]) == 0
    assert "no dead letters match" in capsys.readouterr().out
    assert main(["dlq", "list", *store.missing()]) == 1
    assert main(["dlq", "list", *store.args(), "--since", "yesterday-ish"]) == 2


def test_show(store, capsys):
    q = store.open()
    first = q.list_dead()[0].id
    q.close()
    assert main(["dlq", "show", *store.args(), str(first)]) == 0
    out = capsys.readouterr().out
    assert f"dead letter {first}" in out and "time (invalid)" in out and '"event_type": "Song Played"' in out
    assert main(["dlq", "show", *store.args(), "99999"]) == 1


def test_retry_puts_them_back_through_delivery_and_purge_deletes(store, capsys):
    assert main(["dlq", "retry", *store.args()]) == 2  # no filter, no --all
    assert main(["dlq", "retry", *store.args(), "--destination", "amp", "--dry-run"]) == 0
    assert "would put 2" in capsys.readouterr().out
    assert main(["dlq", "retry", *store.args(), "--destination", "amp"]) == 0
    assert "put 2 dead letter(s) back" in capsys.readouterr().out
    q = store.open()
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
    assert main(["dlq", "purge", *store.args()]) == 2
    assert main(["dlq", "purge", *store.args(), "--all"]) == 0
    assert "deleted 1 dead letter(s)" in capsys.readouterr().out
    q = store.open()
    assert q.count_dead(DeadLetterFilter()) == 0
    q.close()


def test_parse_when():
    assert parse_when("2h", now=10_000) == 10_000 - 7200
    assert parse_when("1700000000") == 1_700_000_000
    assert parse_when("2024-01-01T00:00:00Z") == 1_704_067_200
    assert parse_when("2024-01-01T00:00:00") == 1_704_067_200
    with pytest.raises(ValueError):
        parse_when("soon")


def test_store_arguments_that_cannot_work_say_why(tmp_path, capsys):
    assert main(["dlq", "list", "--db", str(tmp_path / "a.sqlite3"), "--dsn", "postgresql://x@127.0.0.1/x"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["dlq", "list", "--dsn", "postgresql://nobody:secret-pw@127.0.0.1:1/x?connect_timeout=2"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach PostgreSQL at postgresql://nobody:***@127.0.0.1:1/x" in err and "secret-pw" not in err
