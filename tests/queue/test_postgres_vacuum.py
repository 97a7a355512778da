"""The PostgreSQL queue vacuums its units table itself (every so many deleted units, in a thread
of its own): the space of delivered units is reused, not added to at every insert; a failing
VACUUM is reported and never fails the queue."""

from __future__ import annotations

import contextlib
import time

from amprelay.store.pg_vacuum import UnitsVacuum
from tests.queue.test_queue_backends import unit


def wait_for(check, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def table_pages(q) -> int:
    with q._connection() as c:
        return c.execute("SELECT pg_relation_size('amprelay_units') / current_setting('block_size')::int").fetchone()[0]


def deliver(q, n: int, start: int) -> None:
    """``n`` units enqueued and delivered, and one more, last, left in flight (a queue's table
    under load ends with units not delivered yet: VACUUM cannot just cut it short)."""
    q.enqueue([*(unit(f"u{i % 50}", start + i) for i in range(n)), unit(f"tail{start}", start + n)])
    while True:
        leased = [u for u in q.lease("w", 1000, 60, now=time.time()) if not u.partition.startswith("tail")]
        if not leased:
            return
        q.ack([u.id for u in leased])


def test_delivered_units_space_is_reused_after_the_queues_own_vacuum(pg_dsn):
    from amprelay.store.postgres import PostgresQueue

    with contextlib.closing(PostgresQueue(pg_dsn)) as q:
        q.vacuum.every_units, q.vacuum.min_seconds = 2000, 0.0
        deliver(q, 2000, 0)  # 2,000 deleted: one VACUUM asked for
        wait_for(lambda: q.vacuum.runs >= 1)
        grown = table_pages(q)
        assert grown > 10
        runs = q.vacuum.runs
        deliver(q, 2000, 10_000)  # the same again fits in the space the first took
        wait_for(lambda: q.vacuum.runs > runs)
        assert table_pages(q) <= grown + 2
        assert q.vacuum.error is None


def test_without_it_every_insert_extends_the_table(pg_dsn, tmp_path):
    """What the VACUUM is for (the comparison the test above relies on); ``queue.vacuum_units: 0``
    leaves the table to autovacuum."""
    from amprelay.config import parse_config
    from amprelay.store import open_queue

    cfg = parse_config(f"""
data_dir: {tmp_path}
sources: [{{name: web, write_key: wk-vacuum-0001}}]
destinations: [{{name: amplitude, settings: {{apiKey: vacuum-api-key-00001, secretKey: s}}}}]
queue: {{backend: postgres, dsn: "{pg_dsn}", vacuum_units: 0}}
""", "<test>").config
    with contextlib.closing(open_queue(cfg.queue, cfg.data_dir)) as q:
        assert q.vacuum.every_units == 0
        deliver(q, 2000, 0)
        first = table_pages(q)
        deliver(q, 2000, 10_000)
        assert table_pages(q) >= 2 * first - 2 and q.vacuum.runs == 0


def test_vacuums_are_at_least_min_seconds_apart(pg_dsn):
    from amprelay.store.postgres import PostgresQueue

    PostgresQueue(pg_dsn).close()  # the schema
    v = UnitsVacuum(pg_dsn, 5.0, every_units=10, min_seconds=0.5)
    try:
        v.deleted_units(10)
        wait_for(lambda: v.runs == 1)
        asked = time.monotonic()
        v.deleted_units(25)  # asked again at once (twice over): one more, half a second after the first
        wait_for(lambda: v.runs == 2)
        assert time.monotonic() - asked >= 0.4
        time.sleep(0.7)
        assert v.runs == 2 and v.deleted == 0
    finally:
        v.close()


def test_a_failing_vacuum_is_reported_and_retried_later(caplog):
    v = UnitsVacuum("postgresql://nobody@127.0.0.1:1/none", 1.0, every_units=1, min_seconds=0.0)
    try:
        with caplog.at_level("WARNING", logger="amprelay.store"):
            v.deleted_units(1)
            wait_for(lambda: v.error is not None)
        assert v.runs == 0 and "VACUUM of amprelay_units failed" in caplog.text
    finally:
        v.close()
