"""messageId dedupe in the store (both backends): a (source, messageId) claimed within the window
is a duplicate and its units are not stored; claims are atomic with the enqueue, shared by every
queue on one database, and expired ones are pruned."""

from __future__ import annotations

import contextlib

from amprelay.store.base import MessageClaims
from tests.queue.test_queue_backends import unit

DAY = 86400.0


def claims(now: float, *pairs: tuple[str, str], window: float = DAY) -> MessageClaims:
    c = MessageClaims(window, now)
    for i, p in enumerate(pairs):
        c.units_of[p] = range(i, i + 1)
    return c


def test_a_message_seen_within_the_window_is_dropped(q):
    first = claims(1000.0, ("web", "m1"), ("web", "m2"))
    assert len(q.enqueue_with_dead([unit("a", 1), unit("b", 2)], [], None, first)) == 2
    assert first.duplicates == set()
    again = claims(2000.0, ("web", "m2"), ("web", "m3"), ("ios", "m1"))  # m1 of another source is new
    ids = q.enqueue_with_dead([unit("b", 2), unit("c", 3), unit("d", 4)], [], None, again)
    assert again.duplicates == {("web", "m2")} and len(ids) == 2
    assert sorted(u.partition for u in q.lease("w", 10, 60, now=2000)) == ["a", "b", "c", "d"]
    later = claims(1000.0 + DAY + 1, ("web", "m1"))  # the window has passed: new again
    q.enqueue_with_dead([unit("a", 5)], [], None, later)
    assert later.duplicates == set()


def test_expired_ids_are_pruned(q):
    q.enqueue_with_dead([unit("a", i) for i in range(3)], [], None,
                        claims(1000.0, ("web", "x0"), ("web", "x1"), ("web", "x2"), window=10))
    q.enqueue_with_dead([unit("b", 9)], [], None, claims(1000.0 + 10_000, ("web", "y"), window=10))
    if hasattr(q, "db"):
        assert q._conn.execute("SELECT message_id FROM dedupe").fetchall() == [("y",)]
    else:
        from amprelay.store.postgres import dedupe_key

        assert q._conn.execute("SELECT key, message FROM amprelay_dedupe").fetchall() == [dedupe_key("web", "y")]


def test_queues_on_one_postgres_database_share_the_window():
    from tests.helpers.postgres import PgSchemas, pg_available
    from tests.requirements import require

    require(pg_available(), "PostgreSQL is not reachable")
    from amprelay.store.postgres import PostgresQueue

    schemas = PgSchemas()
    try:
        dsn = schemas.dsn()
        with contextlib.closing(PostgresQueue(dsn)) as one, contextlib.closing(PostgresQueue(dsn)) as two:
            a = claims(1000.0, ("web", "shared"))
            one.enqueue_with_dead([unit("a", 1)], [], None, a)
            b = claims(1001.0, ("web", "shared"))
            assert two.enqueue_with_dead([unit("a", 1)], [], None, b) == []
            assert a.duplicates == set() and b.duplicates == {("web", "shared")}
    finally:
        schemas.drop()


def test_concurrent_claims_of_one_message_store_it_once(make_queue):
    """Many writers at once (SDK resends reaching several relays): one claim wins."""
    import threading

    q = make_queue()
    others = []
    if not hasattr(q, "db"):  # PostgreSQL: three relays' queues on one database
        from amprelay.store.postgres import PostgresQueue

        others = [PostgresQueue(q.dsn) for _ in range(3)]
    writers = others or [q]
    stored: list[int] = []
    lock = threading.Lock()

    def claim(i: int) -> None:
        target = writers[i % len(writers)]
        c = claims(1000.0 + i * 0.001, ("web", "race"), ("web", f"own-{i}"))
        ids = target.enqueue_with_dead([unit("r", i), unit(f"own{i}", i)], [], None, c)
        with lock:
            stored.extend(ids)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in others:
        o.close()
    assert len(stored) == 12 + 1  # every writer's own message, the shared one once


def test_a_hash_collision_never_makes_a_message_a_duplicate(monkeypatch):
    """PostgreSQL keys a messageId by a hash of it: two messages sharing a key are both new (the
    later one takes the record over), and a real duplicate is still dropped."""
    from tests.helpers.postgres import PgSchemas, pg_available
    from tests.requirements import require

    require(pg_available(), "PostgreSQL is not reachable")
    from amprelay.store import postgres

    real = postgres.dedupe_key
    monkeypatch.setattr(postgres, "dedupe_key", lambda s, m: (7, real(s, m)[1]))  # every message collides
    schemas = PgSchemas()
    try:
        with contextlib.closing(postgres.PostgresQueue(schemas.dsn())) as q:
            first = claims(1000.0, ("web", "a"))
            q.enqueue_with_dead([unit("a", 1)], [], None, first)
            other = claims(1001.0, ("web", "b"))
            assert len(q.enqueue_with_dead([unit("b", 2)], [], None, other)) == 1 and other.duplicates == set()
            again = claims(1002.0, ("web", "b"))
            assert q.enqueue_with_dead([unit("b", 3)], [], None, again) == [] and again.duplicates == {("web", "b")}
            both = claims(1003.0, ("web", "c"), ("web", "d"))  # one enqueue, one key: both new
            assert len(q.enqueue_with_dead([unit("c", 4), unit("d", 5)], [], None, both)) == 2
            assert both.duplicates == set()
    finally:
        schemas.drop()


def test_one_postgres_group_commit_with_claims_duplicates_and_dead_letters():
    """A group commit's enqueues are written in one pipelined transaction, every message taken
    to be new; a message recorded before fails it, and the group is written again asking the
    dedupe table. Either way: ids in enqueue order, a message claimed twice within one group
    stored once, dead letters stored, duplicates told to their enqueues."""
    from tests.helpers.postgres import PgSchemas, pg_available
    from tests.requirements import require

    require(pg_available(), "PostgreSQL is not reachable")
    from amprelay.store.pg_state import Pending
    from amprelay.store.postgres import PostgresQueue

    def dead_count(q: PostgresQueue) -> int:
        with q._connection() as c:
            return c.execute("SELECT COUNT(*) FROM amprelay_dead_letters").fetchone()[0]

    schemas = PgSchemas()
    try:
        with contextlib.closing(PostgresQueue(schemas.dsn())) as q:
            asked: list[int] = []
            careful = q._write
            q._write = lambda c, group: (asked.append(len(group)), careful(c, group))[1]  # type: ignore[method-assign]
            one = Pending([unit("a", 1), unit("a", 2)], [], claims(1000.0, ("web", "m1"), ("web", "m2")))
            same = Pending([unit("b", 3)], [], claims(1000.0, ("web", "m1")))  # m1 again, same group
            dead = claims(1000.0, ("web", "m4"))
            dead.units_of[("web", "m4")] = range(1)
            dead.dead_of[("web", "m5")] = [0]
            dead.units_of[("web", "m5")] = range(0)
            three = Pending([unit("c", 4)], [(unit("d", 5), "too big")], dead)
            plain = Pending([unit("e", 6)], [])  # no claims at all
            q._write_group([one, same, three, plain])
            assert len(one.ids) == 2 and same.ids == [] and len(three.ids) == 1 and len(plain.ids) == 1
            assert one.ids + three.ids + plain.ids == sorted(one.ids + three.ids + plain.ids)
            assert one.claims.duplicates == set() and same.claims.duplicates == {("web", "m1")}
            assert dead_count(q) == 1 and asked == []
            # m2 was recorded by the first group: this one is written again, claim by claim
            seen = Pending([unit("f", 7)], [(unit("f", 8), "bad")], claims(1001.0, ("web", "m2")))
            seen.claims.dead_of[("web", "m2")] = [0]
            new = Pending([unit("g", 9)], [], claims(1001.0, ("web", "m9")))
            q._write_group([seen, new])
            assert seen.ids == [] and seen.claims.duplicates == {("web", "m2")} and seen.dead == []
            assert len(new.ids) == 1 and new.ids[0] > plain.ids[0] and new.claims.duplicates == set()
            assert dead_count(q) == 1 and asked == [2]
            leased = q.lease("w", 10, 60, now=2000)
            assert sorted(u.partition for u in leased) == ["a", "a", "c", "e", "g"]
    finally:
        schemas.drop()


def test_an_enqueue_awaited_on_the_event_loop_stores_and_claims_as_the_blocking_one(q):
    """``enqueue_with_dead_async``: what ingest awaits on PostgreSQL (no worker thread); the same
    group commit, claims and dead letters as ``enqueue_with_dead``."""
    import asyncio

    first = claims(1000.0, ("web", "a1"), ("web", "a2"))
    ids = asyncio.run(q.enqueue_with_dead_async([unit("a", 1), unit("b", 2)], [(unit("c", 3), "bad")], first))
    assert len(ids) == 2 and ids == sorted(ids) and first.duplicates == set()
    again = claims(1001.0, ("web", "a2"), ("web", "a3"))
    assert len(asyncio.run(q.enqueue_with_dead_async([unit("b", 4), unit("d", 5)], [], again))) == 1
    assert again.duplicates == {("web", "a2")}
    assert asyncio.run(q.enqueue_with_dead_async([], [])) == []
    assert sorted(u.partition for u in q.lease("w", 10, 60, now=2000)) == ["a", "b", "d"]
    assert q.count_dead() == 1
