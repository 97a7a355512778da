"""PostgreSQL-only: partitions spread over buckets owned by one worker at a time; a dead
worker's buckets (and the units it had leased) are taken over; schema migrations."""

from __future__ import annotations

import orjson
import psycopg
import pytest

from amprelay.store import NewUnit, UnitRoute
from amprelay.store.postgres import BUCKETS, SCHEMA_VERSION, PostgresQueue, bucket_of, migrate
from tests.helpers.postgres import PgSchemas, pg_available
from tests.requirements import require

EVENTS = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                   (("api_key", "k"), ("events", None)))


@pytest.fixture
def dsn():
    require(pg_available(), "PostgreSQL is not reachable")
    schemas = PgSchemas()
    yield schemas.dsn()
    schemas.drop()


def units(n_users: int, per_user: int) -> list[NewUnit]:
    return [NewUnit(EVENTS, orjson.dumps({"user_id": f"u{u}", "n": i}), f"u{u}", f"m{u}-{i}", 1000.0)
            for i in range(per_user) for u in range(n_users)]


def test_two_workers_split_the_buckets_and_never_share_a_partition(dsn):
    a, b = PostgresQueue(dsn, bucket_lease_seconds=30), PostgresQueue(dsn, bucket_lease_seconds=30)
    a.enqueue(units(200, 1))
    first = a.lease("A", 10_000, 60, now=1000)
    assert len({u.partition for u in first}) == 200  # alone, A owns every bucket
    a.ack([u.id for u in first])
    a.enqueue(units(200, 1))
    assert b.lease("B", 10_000, 60, now=1001) == []  # A's buckets are still leased to A
    assert a.lease("A", 0, 60, now=1002) == []  # A sees a second live worker and gives back its surplus
    from_b = b.lease("B", 10_000, 60, now=1003)
    from_a = a.lease("A", 10_000, 60, now=1004)
    parts_a, parts_b = {u.partition for u in from_a}, {u.partition for u in from_b}
    assert parts_a and parts_b and not parts_a & parts_b
    assert {bucket_of(p) for p in parts_a}.isdisjoint({bucket_of(p) for p in parts_b})
    with psycopg.connect(dsn) as c:
        owners = dict(c.execute("SELECT owner, COUNT(*) FROM amprelay_buckets GROUP BY owner").fetchall())
    assert owners == {"A": BUCKETS // 2, "B": BUCKETS // 2}
    a.close()
    b.close()


def test_a_dead_workers_buckets_and_leased_units_move(dsn):
    a, b = PostgresQueue(dsn, bucket_lease_seconds=5), PostgresQueue(dsn, bucket_lease_seconds=5)
    a.enqueue(units(50, 2))
    in_flight = a.lease("A", 10_000, 300, now=1000)  # A takes everything, then dies (no ack, no renew)
    assert len(in_flight) == 100
    assert b.lease("B", 10_000, 300, now=1003) == []  # A's bucket leases are still valid
    taken = b.lease("B", 10_000, 300, now=1006)  # expired: B takes the buckets and A's units
    assert sorted(u.id for u in taken) == sorted(u.id for u in in_flight)
    b.ack([u.id for u in taken])
    assert b.lease("B", 10_000, 300, now=1007) == []
    assert b.stats().depth == 0
    a.close()
    b.close()


def test_migrate_is_idempotent_and_versioned(dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        assert migrate(c) == (0, SCHEMA_VERSION)
        assert migrate(c) == (SCHEMA_VERSION, SCHEMA_VERSION)
        assert c.execute("SELECT version FROM amprelay_schema").fetchone()[0] == SCHEMA_VERSION
        assert c.execute("SELECT COUNT(*) FROM amprelay_buckets").fetchone()[0] == BUCKETS
