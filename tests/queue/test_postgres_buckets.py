"""PostgreSQL-only: partitions spread over buckets owned by one worker at a time; a dead
worker's buckets (and the units it had leased) are taken over; schema migrations."""

from __future__ import annotations

import orjson
import psycopg

from amprelay.store import NewUnit, RetryItem, UnitRoute
from amprelay.store.postgres import BUCKETS, SCHEMA_VERSION, PostgresQueue, bucket_of, migrate

EVENTS = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                   (("api_key", "k"), ("events", None)))


def units(n_users: int, per_user: int) -> list[NewUnit]:
    return [NewUnit(EVENTS, orjson.dumps({"user_id": f"u{u}", "n": i}), f"u{u}", f"m{u}-{i}", 1000.0)
            for i in range(per_user) for u in range(n_users)]


def test_two_workers_split_the_buckets_and_never_share_a_partition(pg_dsn):
    a, b = PostgresQueue(pg_dsn, bucket_lease_seconds=30), PostgresQueue(pg_dsn, bucket_lease_seconds=30)
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
    with psycopg.connect(pg_dsn) as c:
        owners = dict(c.execute("SELECT owner, COUNT(*) FROM amprelay_buckets GROUP BY owner").fetchall())
    assert owners == {"A": BUCKETS // 2, "B": BUCKETS // 2}
    a.close()
    b.close()


def test_a_busy_worker_drains_its_surplus_buckets_and_hands_them_over(pg_dsn):
    """Under load every bucket has units in flight all the time: the first worker still gives a
    second one its share, by leasing nothing more from its surplus buckets and giving each back
    once its units in flight are settled; per-partition order holds across the handover."""
    a, b = PostgresQueue(pg_dsn, bucket_lease_seconds=30), PostgresQueue(pg_dsn, bucket_lease_seconds=30)
    a.enqueue(units(200, 2))
    first = a.lease("A", 200, 60, now=1000)  # alone: A owns every bucket, one unit in flight per user
    assert {bucket_of(u.partition) for u in first} == set(range(BUCKETS))
    assert b.lease("B", 10_000, 60, now=1001) == []  # B registers; every bucket is A's, and busy
    half = BUCKETS // 2
    # A sees B; none of its buckets is idle, so it drains its 32 surplus ones: new leases come
    # from its other 32 only (every user's second unit is ready now, but a drained bucket's stay)
    assert a.lease("A", 0, 60, now=1002) == []
    renew = a._refresh_seconds  # how often a worker renews its buckets (and counts the workers)
    a.ack([u.id for u in first])
    keep = a.lease("A", 10_000, 60, now=1002 + 0.4 * renew)
    assert {bucket_of(u.partition) for u in keep} == set(range(half))
    assert b.lease("B", 10_000, 60, now=1002 + 0.8 * renew) == []  # not handed over before A's next renewal
    assert a.lease("A", 10_000, 60, now=1002 + 1.2 * renew) == []  # drained: A gives those buckets back
    from_b = b.lease("B", 10_000, 60, now=1002 + 1.6 * renew)
    assert {bucket_of(u.partition) for u in from_b} == set(range(half, BUCKETS))
    # B sends the second unit of the users whose first unit A sent: none is sent twice, none skipped
    sent_first = {u.partition: u.id for u in first}
    assert all(u.id > sent_first[u.partition] for u in from_b)
    assert sorted(u.partition for u in keep + from_b) == sorted(sent_first)
    with psycopg.connect(pg_dsn) as c:
        owners = dict(c.execute("SELECT owner, COUNT(*) FROM amprelay_buckets GROUP BY owner").fetchall())
    assert owners == {"A": half, "B": half}
    a.close()
    b.close()


def test_a_dead_workers_buckets_and_leased_units_move(pg_dsn):
    a, b = PostgresQueue(pg_dsn, bucket_lease_seconds=5), PostgresQueue(pg_dsn, bucket_lease_seconds=5)
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


def test_migrate_is_idempotent_and_versioned(pg_dsn):
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        assert migrate(c) == (0, SCHEMA_VERSION)
        assert migrate(c) == (SCHEMA_VERSION, SCHEMA_VERSION)
        assert c.execute("SELECT version FROM amprelay_schema").fetchone()[0] == SCHEMA_VERSION
        assert c.execute("SELECT COUNT(*) FROM amprelay_buckets").fetchone()[0] == BUCKETS


def test_migrations_7_to_9_upgrade_a_version_6_queue_and_keep_its_units(pg_dsn):
    from amprelay.store.pg_schema import MIGRATIONS

    with psycopg.connect(pg_dsn, autocommit=True) as c:  # a queue as version 6 left it: A owns every bucket
        c.execute("CREATE TABLE amprelay_schema (version INT NOT NULL)")  # and has u1's first unit in flight
        c.execute("INSERT INTO amprelay_schema (version) VALUES (6)")
        for step in MIGRATIONS[:6]:
            step(c) if callable(step) else c.execute(step)
        rid = c.execute("INSERT INTO amprelay_routes (key, destination, kind) VALUES (%s, 'amp', 'events') "
                        "RETURNING id", (EVENTS.key(),)).fetchone()[0]
        c.execute("INSERT INTO amprelay_units (route_id, bucket, partition, message_id, entry, created_at, "
                  "lease_owner, lease_until, lease_token) VALUES (%s, %s, 'u1', 'm1', '{}', 1, 'A', 5000, 1)",
                  (rid, bucket_of("u1")))
        c.execute("INSERT INTO amprelay_units (route_id, bucket, partition, message_id, entry, created_at) "
                  "VALUES (%s, %s, 'u1', 'm2', '{}', 1)", (rid, bucket_of("u1")))
        c.execute("UPDATE amprelay_buckets SET owner = 'A', lease_until = 1005")
    q = PostgresQueue(pg_dsn, bucket_lease_seconds=5)  # (migrated: leases live in their workers' memory)
    assert q.lease("B", 10, 60, now=1000) == []  # A's buckets are still A's
    got = q.lease("B", 10, 60, now=1006)  # they lapsed: B takes them, and what A had in flight, in order
    assert [u.message_id for u in got] == ["m1", "m2"] and got[0].route == EVENTS
    assert q.lease("B", 10, 60, now=1007) == []  # in flight
    assert q.settle(ack=[u.id for u in got], tokens={u.id: u.token for u in got}, now=1008) == []
    q.close()
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        assert c.execute("SELECT version FROM amprelay_schema").fetchone()[0] == SCHEMA_VERSION
        assert c.execute("SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'amprelay_units'::regclass "
                         "AND contype = 'f'").fetchone()[0] == 0
        indexes = {r[0] for r in c.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'amprelay_units' "
                                           "AND schemaname = current_schema()")}
        assert indexes == {"amprelay_units_pkey", "amprelay_units_waiting"}
        assert c.execute("SELECT reloptions FROM pg_class WHERE oid = 'amprelay_units'::regclass").fetchone()[0] is None
        assert c.execute("SELECT COUNT(*) FROM amprelay_units").fetchone()[0] == 0
        columns = {r[0] for r in c.execute("SELECT column_name FROM information_schema.columns WHERE table_name = "
                                           "'amprelay_units' AND table_schema = current_schema()")}
        assert not columns & {"lease_owner", "lease_until", "lease_token"}
        assert c.execute("SELECT COUNT(*) FROM amprelay_buckets WHERE epoch > 0").fetchone()[0] == BUCKETS


def test_migration_8_keys_a_version_7_dedupe_window_by_hash_and_keeps_it(pg_dsn):
    from amprelay.store.base import MessageClaims
    from amprelay.store.pg_schema import MIGRATIONS
    from amprelay.store.postgres import dedupe_key

    with psycopg.connect(pg_dsn, autocommit=True) as c:  # version 7 saw two messages (one with non-ASCII)
        c.execute("CREATE TABLE amprelay_schema (version INT NOT NULL)")
        c.execute("INSERT INTO amprelay_schema (version) VALUES (7)")
        for step in MIGRATIONS[:7]:
            step(c) if callable(step) else c.execute(step)
        c.execute("INSERT INTO amprelay_dedupe (source, message_id, seen_at) VALUES "
                  "('web', 'm1', 1000), ('ios', 'é-2', 1001)")
    q = PostgresQueue(pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        assert c.execute("SELECT version FROM amprelay_schema").fetchone()[0] == SCHEMA_VERSION
        rows = c.execute("SELECT key, message, seen_at FROM amprelay_dedupe ORDER BY seen_at").fetchall()
        assert rows == [(*dedupe_key("web", "m1"), 1000.0), (*dedupe_key("ios", "é-2"), 1001.0)]
    for pair, duplicate in ((("web", "m1"), True), (("ios", "é-2"), True), (("web", "é-2"), False)):
        claim = MessageClaims(86400.0, 2000.0, {pair: range(0, 1)})
        ids = q.enqueue_with_dead([NewUnit(EVENTS, b"{}", "u1", pair[1], 2000.0)], (), claims=claim)
        assert (claim.duplicates == {pair}, len(ids)) == ((True, 0) if duplicate else (False, 1))
    q.close()


def test_a_settlement_after_a_takeover_is_stale_and_changes_nothing(pg_dsn):
    """A worker whose buckets lapsed settles late: another worker took them over (a new epoch) and
    leased the same units; the late settlement changes nothing, the new owner's counts."""
    a, b = PostgresQueue(pg_dsn, bucket_lease_seconds=5), PostgresQueue(pg_dsn, bucket_lease_seconds=5)
    a.enqueue(units(3, 2))
    old = a.lease("A", 10, 300, now=1000)
    new = b.lease("B", 10, 300, now=1006)
    assert sorted(u.id for u in new) == sorted(u.id for u in old)
    assert sorted(a.settle(ack=[u.id for u in old], tokens={u.id: u.token for u in old}, now=1007)) == \
        sorted(u.id for u in old)
    assert a.stale_settlements == len(old) and b.stats().depth == 6
    assert b.settle(retry=[RetryItem(u.id, 1010, "429") for u in new], tokens={u.id: u.token for u in new},
                    now=1008) == []
    again = b.lease("B", 10, 300, now=1011)
    assert sorted(u.id for u in again) == sorted(u.id for u in new) and {u.attempts for u in again} == {1}
    b.ack([u.id for u in again])
    assert b.stats().depth == 0
    a.close()
    b.close()


def test_a_takeover_waits_for_a_settlement_checking_its_bucket(pg_dsn):
    """A settlement locks its buckets' rows while it checks their epochs: a worker looking for
    buckets meanwhile skips them (and takes them once the settlement is done)."""
    a, b = PostgresQueue(pg_dsn, bucket_lease_seconds=5), PostgresQueue(pg_dsn, bucket_lease_seconds=5)
    a.enqueue(units(1, 1))
    [u] = a.lease("A", 10, 300, now=1000)
    with psycopg.connect(pg_dsn) as c:  # the same lock as a's settlement holds
        c.execute("SELECT epoch FROM amprelay_buckets WHERE bucket = %s FOR SHARE", (bucket_of("u0"),))
        assert b.lease("B", 10, 300, now=1006) == []
        with psycopg.connect(pg_dsn) as d:
            assert d.execute("SELECT owner FROM amprelay_buckets WHERE bucket = %s",
                             (bucket_of("u0"),)).fetchone()[0] == "A"
    assert [x.id for x in b.lease("B", 10, 300, now=1007)] == [u.id]
    a.close()
    b.close()


def test_a_worker_that_lets_its_buckets_lapse_keeps_them_and_its_settlements(pg_dsn):
    """No one took the buckets meanwhile: they keep their epoch, and the worker's leases settle."""
    q = PostgresQueue(pg_dsn, bucket_lease_seconds=5)
    q.enqueue(units(2, 1))
    got = q.lease("A", 10, 300, now=1000)
    assert q.lease("A", 10, 300, now=1010) == []  # re-claimed after lapsing: its units are still in flight
    assert q.settle(ack=[u.id for u in got], tokens={u.id: u.token for u in got}, now=1011) == []
    assert q.stats().depth == 0
    q.close()


def test_after_an_empty_scan_only_new_units_are_read_and_the_whole_window_again_within_a_second(pg_dsn):
    q = PostgresQueue(pg_dsn)
    identify = UnitRoute("amp", "POST", "https://api2.amplitude.com/identify", "form", "identification", True,
                     (("api_key", "k"),))
    mk = lambda part, n, route=EVENTS: NewUnit(route, orjson.dumps({"n": n}), part, f"m{n}", 1000.0)  # noqa: E731
    a0, x, a1 = q.enqueue([mk("a", 0), mk("x", 1), mk("a", 2, identify)])  # a1: another route, another run
    first = q.lease("w", 10, 60, now=1000)
    assert [u.id for u in first] == [a0, x]
    q.settle(ack=[x], tokens={x: first[1].token})
    assert q.lease("w", 10, 60, now=1000.1) == []  # a1 waits behind a0: nothing ready up to a1
    [b] = q.enqueue([mk("b", 3)])
    assert [u.id for u in q.lease("w", 10, 60, now=1000.2)] == [b]  # newer than that scan
    with psycopg.connect(pg_dsn) as c:  # a unit whose id was drawn before that scan, committed after it
        c.execute("INSERT INTO amprelay_units (id, route_id, bucket, partition, message_id, entry, created_at) "
                  "SELECT %s, route_id, %s, 'late', 'm9', '{}', 1000 FROM amprelay_units WHERE id = %s",
                  (x, bucket_of("late"), a0))
    assert q.lease("w", 10, 60, now=1000.3) == []  # not looked for yet
    assert [u.partition for u in q.lease("w", 10, 60, now=1001.2)] == ["late"]  # the whole window, a second on
    q.settle(ack=[a0], tokens={a0: first[0].token})
    assert [u.id for u in q.lease("w", 10, 60, now=1001.3)] == [a1]  # a settlement unblocks a partition
    q.close()
