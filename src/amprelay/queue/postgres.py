"""The PostgreSQL queue backend, for many relays (on many machines) sharing one queue.

Ordering across workers: every unit belongs to one of ``BUCKETS`` buckets, a stable hash of its
partition (the user id, else the device id). A worker leases units only from buckets it owns; a
bucket is owned by one worker at a time through a short, renewed lease (``bucket_lease_seconds``)
taken with ``FOR UPDATE SKIP LOCKED``. Live workers share the buckets evenly; a dead worker's
buckets expire and are taken over, and the units it had leased are released to the new owner
(any it had in flight are at worst resent, and Amplitude deduplicates them by insert_id). Within
a worker the same ordering rules as SQLite hold (see :mod:`amprelay.queue.base`).

Durability: every write commits with PostgreSQL's ``synchronous_commit`` (on by default), so an
enqueue returns only once the units are on disk. Concurrent enqueues in one process share one
transaction (group commit). Delivered units are deleted by primary key in small statements, so
cleanup never holds long locks.

The schema is created and migrated by amprelay (``amprelay migrate``, or on open); its version is
kept in ``amprelay_schema``.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from amprelay.queue.base import (
    DeadLetter,
    DeadLetterFilter,
    Lease,
    NewUnit,
    QueueStats,
    RetryItem,
    Route,
    pick_runs,
)
from amprelay.queue.groupcommit import GroupCommit
from amprelay.queue.sqlite import SCAN_WINDOW

BUCKETS = 64

MIGRATIONS: list[str] = [
    # 1: the queue
    """
    CREATE TABLE amprelay_routes (
        id BIGSERIAL PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        destination TEXT NOT NULL,
        kind TEXT NOT NULL
    );
    CREATE TABLE amprelay_units (
        id BIGSERIAL PRIMARY KEY,
        route_id BIGINT NOT NULL REFERENCES amprelay_routes(id),
        bucket INT NOT NULL,
        partition TEXT NOT NULL,
        message_id TEXT NOT NULL,
        entry BYTEA NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        not_before DOUBLE PRECISION NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until DOUBLE PRECISION,
        attempts INT NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX amprelay_units_bucket ON amprelay_units (bucket, id);
    CREATE INDEX amprelay_units_leased ON amprelay_units (lease_owner) WHERE lease_owner IS NOT NULL;
    CREATE TABLE amprelay_buckets (
        bucket INT PRIMARY KEY,
        owner TEXT,
        lease_until DOUBLE PRECISION NOT NULL DEFAULT 0
    );
    INSERT INTO amprelay_buckets (bucket) SELECT g FROM generate_series(0, 63) AS g;
    CREATE TABLE amprelay_dead_letters (
        id BIGSERIAL PRIMARY KEY,
        unit_id BIGINT NOT NULL,
        route_id BIGINT NOT NULL REFERENCES amprelay_routes(id),
        partition TEXT NOT NULL,
        message_id TEXT NOT NULL,
        entry BYTEA NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        dead_at DOUBLE PRECISION NOT NULL,
        attempts INT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX amprelay_dead_letters_dead_at ON amprelay_dead_letters (dead_at);
    """,
    # 2: server-side session state
    """
    CREATE TABLE amprelay_server_sessions (
        key TEXT PRIMARY KEY,
        state BYTEA NOT NULL
    );
    """,
    # 3: live workers (heartbeats), so buckets are shared by every worker that wants some
    """
    CREATE TABLE amprelay_workers (
        worker_id TEXT PRIMARY KEY,
        seen_at DOUBLE PRECISION NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def bucket_of(partition: str) -> int:
    return zlib.crc32(partition.encode("utf-8")) % BUCKETS


def migrate(conn: psycopg.Connection) -> tuple[int, int]:
    """Bring the schema to :data:`SCHEMA_VERSION`; returns (from, to). Safe to run concurrently."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7251004)")  # one migrator at a time
        conn.execute("CREATE TABLE IF NOT EXISTS amprelay_schema (version INT NOT NULL)")
        row = conn.execute("SELECT version FROM amprelay_schema").fetchone()
        current = row[0] if row else 0
        if row is None:
            conn.execute("INSERT INTO amprelay_schema (version) VALUES (0)")
        for version in range(current, SCHEMA_VERSION):
            conn.execute(MIGRATIONS[version])
        if current < SCHEMA_VERSION:
            conn.execute("UPDATE amprelay_schema SET version = %s", (SCHEMA_VERSION,))
    return current, max(current, SCHEMA_VERSION)


class PostgresQueue:
    """:class:`amprelay.queue.base.Queue` on PostgreSQL (psycopg 3)."""

    def __init__(self, dsn: str, *, bucket_lease_seconds: float = 10.0, auto_migrate: bool = True,
                 connect_timeout: float = 5.0):
        if not dsn:
            raise ValueError("queue.dsn is required for the postgres backend")
        self.dsn = dsn
        self.bucket_lease_seconds = bucket_lease_seconds
        self.connect_timeout = connect_timeout
        self._lock = threading.RLock()  # the shared connection
        self._conn: psycopg.Connection | None = None
        self._route_ids: dict[str, int] = {}
        self._routes: dict[int, Route] = {}
        self._group: GroupCommit[_Pending] = GroupCommit(self._write_group)
        # units whose ack/retry/dead-letter could not be written (the database was away): handed
        # back to the queue on the next successful lease, to be sent again (Amplitude dedupes)
        self._orphans: set[int] = set()
        self._orphans_lock = threading.Lock()
        if auto_migrate:
            with self._connection() as c:
                migrate(c)

    # -- connection ---------------------------------------------------------------------------

    def _connection(self) -> _Conn:
        return _Conn(self)

    def _connect(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=int(self.connect_timeout))
            self._route_ids.clear()
            self._routes.clear()
        return self._conn

    def _route_id(self, c: psycopg.Connection, route: Route) -> int:
        key = route.key()
        rid = self._route_ids.get(key)
        if rid is None:
            c.execute("INSERT INTO amprelay_routes (key, destination, kind) VALUES (%s, %s, %s) "
                      "ON CONFLICT (key) DO NOTHING", (key, route.destination, route.kind))
            rid = c.execute("SELECT id FROM amprelay_routes WHERE key = %s", (key,)).fetchone()[0]
            self._route_ids[key] = rid
            self._routes[rid] = route
        return rid

    def _route(self, c: psycopg.Connection, rid: int) -> Route:
        route = self._routes.get(rid)
        if route is None:
            key = c.execute("SELECT key FROM amprelay_routes WHERE id = %s", (rid,)).fetchone()[0]
            route = Route.from_key(key)
            self._routes[rid] = route
            self._route_ids[key] = rid
        return route

    # -- enqueue (group commit) -----------------------------------------------------------------

    def enqueue(self, units: Sequence[NewUnit]) -> list[int]:
        return self.enqueue_with_dead(units, ())

    def enqueue_with_dead(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]]) -> list[int]:
        if not units and not dead:
            return []
        me = _Pending(units, dead)
        self._group.submit(me)
        return me.ids

    def _write_group(self, group: list[_Pending]) -> None:
        try:
            with self._connection() as c, c.transaction():
                now = time.time()
                for p in group:
                    if p.units:
                        rids = [self._route_id(c, u.route) for u in p.units]
                        rows = c.execute(
                            "INSERT INTO amprelay_units (route_id, bucket, partition, message_id, entry, created_at) "
                            "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[], %s::bytea[], "
                            "%s::float8[]) RETURNING id",
                            (rids, [bucket_of(u.partition) for u in p.units], [u.partition for u in p.units],
                             [u.message_id for u in p.units], [u.entry for u in p.units],
                             [u.created_at for u in p.units]),
                        ).fetchall()
                        p.ids = [r[0] for r in rows]
                    if p.dead:
                        c.execute(
                            "INSERT INTO amprelay_dead_letters (unit_id, route_id, partition, message_id, entry, "
                            "created_at, dead_at, attempts, reason) SELECT 0, r, p, m, e, ca, %s, 0, reason FROM "
                            "unnest(%s::bigint[], %s::text[], %s::text[], %s::bytea[], %s::float8[], %s::text[]) "
                            "AS t(r, p, m, e, ca, reason)",
                            (now, [self._route_id(c, u.route) for u, _ in p.dead], [u.partition for u, _ in p.dead],
                             [u.message_id for u, _ in p.dead], [u.entry for u, _ in p.dead],
                             [u.created_at for u, _ in p.dead], [reason for _, reason in p.dead]),
                        )
        except BaseException:
            self._route_ids.clear()
            self._routes.clear()
            for p in group:
                p.ids = []
            raise

    # -- buckets and leases ---------------------------------------------------------------------

    def _claim_buckets(self, c: psycopg.Connection, worker_id: str, now: float) -> list[int]:
        until = now + self.bucket_lease_seconds
        owned = [r[0] for r in c.execute(
            "UPDATE amprelay_buckets SET lease_until = %s WHERE owner = %s AND lease_until >= %s RETURNING bucket",
            (until, worker_id, now))]
        c.execute("INSERT INTO amprelay_workers (worker_id, seen_at) VALUES (%s, %s) "
                  "ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at", (worker_id, now))
        live = c.execute("SELECT COUNT(*) FROM amprelay_workers WHERE worker_id <> %s AND seen_at >= %s",
                         (worker_id, now - self.bucket_lease_seconds)).fetchone()[0] + 1
        target = math.ceil(BUCKETS / live)
        if len(owned) < target:
            claimed = [r[0] for r in c.execute(
                "UPDATE amprelay_buckets SET owner = %s, lease_until = %s WHERE bucket IN ("
                " SELECT bucket FROM amprelay_buckets WHERE (owner IS NULL OR lease_until < %s) AND "
                " (owner IS DISTINCT FROM %s OR lease_until < %s) ORDER BY bucket LIMIT %s FOR UPDATE SKIP LOCKED"
                ") RETURNING bucket", (worker_id, until, now, worker_id, now, target - len(owned)))]
            if claimed:
                # units a dead owner had leased in these buckets are ours to send now
                c.execute("UPDATE amprelay_units SET lease_owner = NULL, lease_until = NULL "
                          "WHERE bucket = ANY(%s) AND lease_owner IS NOT NULL AND lease_owner <> %s",
                          (claimed, worker_id))
            owned += claimed
        elif len(owned) > target:
            # give back surplus buckets with nothing in flight, so a new worker gets its share
            busy = {r[0] for r in c.execute(
                "SELECT DISTINCT bucket FROM amprelay_units WHERE lease_owner = %s", (worker_id,))}
            surplus = [b for b in sorted(owned, reverse=True) if b not in busy][: len(owned) - target]
            if surplus:
                c.execute("UPDATE amprelay_buckets SET owner = NULL, lease_until = 0 "
                          "WHERE bucket = ANY(%s) AND owner = %s", (surplus, worker_id))
                owned = [b for b in owned if b not in surplus]
        return owned

    def lease(self, worker_id: str, max_units: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        now = time.time() if now is None else now
        with self._connection() as c, c.transaction():
            owned = self._claim_buckets(c, worker_id, now)
            with self._orphans_lock:
                orphans, self._orphans = list(self._orphans), set()
            if orphans:
                c.execute("UPDATE amprelay_units SET lease_owner = NULL, lease_until = NULL "
                          "WHERE id = ANY(%s) AND lease_owner = %s", (orphans, worker_id))
            if not owned or max_units <= 0:
                return []
            c.execute("UPDATE amprelay_units SET lease_owner = NULL, lease_until = NULL "
                      "WHERE bucket = ANY(%s) AND lease_owner IS NOT NULL AND lease_until < %s", (owned, now))
            # partitions with a unit in flight or waiting for a retry send nothing now; the rest are
            # scanned in enqueue order within a window, so a throttled backlog hides no one
            blocked = [r[0] for r in c.execute(
                "SELECT DISTINCT partition FROM amprelay_units WHERE bucket = ANY(%s) AND "
                "(lease_owner IS NOT NULL OR not_before > %s)", (owned, now))]
            rows = c.execute(
                "SELECT id, route_id, partition, attempts, message_id, entry, created_at, last_error "
                "FROM amprelay_units WHERE bucket = ANY(%s) AND lease_owner IS NULL AND not_before <= %s "
                "AND NOT (partition = ANY(%s)) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (owned, now, blocked, max(SCAN_WINDOW, 2 * max_units))).fetchall()
            chosen = [Lease(uid, self._route(c, rid), bytes(entry), part, mid, created, attempts, err)
                      for uid, rid, part, attempts, mid, entry, created, err in pick_runs(rows, max_units)]
            if chosen:
                c.execute("UPDATE amprelay_units SET lease_owner = %s, lease_until = %s, not_before = 0 "
                          "WHERE id = ANY(%s)", (worker_id, now + lease_seconds, [u.id for u in chosen]))
            return chosen

    def release(self, worker_id: str) -> int:
        with self._connection() as c, c.transaction():
            n = c.execute("UPDATE amprelay_units SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = %s",
                          (worker_id,)).rowcount
            c.execute("UPDATE amprelay_buckets SET owner = NULL, lease_until = 0 WHERE owner = %s", (worker_id,))
            c.execute("DELETE FROM amprelay_workers WHERE worker_id = %s", (worker_id,))
            return n

    def ack(self, ids: Iterable[int]) -> None:
        self.settle(ack=ids)

    def retry(self, items: Iterable[RetryItem]) -> None:
        self.settle(retry=items)

    def dead_letter(self, items: Iterable[tuple[int, str]], now: float | None = None) -> None:
        self.settle(dead=items, now=now)

    def settle(self, ack: Iterable[int] = (), retry: Iterable[RetryItem] = (),
               dead: Iterable[tuple[int, str]] = (), now: float | None = None) -> None:
        now = time.time() if now is None else now
        acks = list(ack)
        retries = list(retry)
        deads = list(dead)
        if not (acks or retries or deads):
            return
        try:
            self._settle(acks, retries, deads, now)
        except psycopg.OperationalError:
            with self._orphans_lock:
                self._orphans.update(acks)
                self._orphans.update(r.id for r in retries)
                self._orphans.update(d[0] for d in deads)
            raise

    def _settle(self, acks: list[int], retries: list[RetryItem], deads: list[tuple[int, str]], now: float) -> None:
        with self._connection() as c, c.transaction():
            if acks:
                c.execute("DELETE FROM amprelay_units WHERE id = ANY(%s)", (acks,))
            if retries:
                c.execute(
                    "UPDATE amprelay_units u SET lease_owner = NULL, lease_until = NULL, not_before = t.nb, "
                    "last_error = COALESCE(t.err, u.last_error), attempts = u.attempts + t.inc "
                    "FROM unnest(%s::bigint[], %s::float8[], %s::text[], %s::int[]) AS t(id, nb, err, inc) "
                    "WHERE u.id = t.id",
                    ([r.id for r in retries], [max(r.not_before, 0.0) for r in retries], [r.error for r in retries],
                     [1 if r.count_attempt else 0 for r in retries]))
            if deads:
                c.execute(
                    "INSERT INTO amprelay_dead_letters (unit_id, route_id, partition, message_id, entry, created_at, "
                    "dead_at, attempts, reason) SELECT u.id, u.route_id, u.partition, u.message_id, u.entry, "
                    "u.created_at, %s, u.attempts + 1, t.reason FROM amprelay_units u JOIN "
                    "unnest(%s::bigint[], %s::text[]) AS t(id, reason) ON u.id = t.id",
                    (now, [d[0] for d in deads], [d[1] for d in deads]))
                c.execute("DELETE FROM amprelay_units WHERE id = ANY(%s)", ([d[0] for d in deads],))

    # -- dead letters -----------------------------------------------------------------------------

    @staticmethod
    def _where(flt: DeadLetterFilter) -> tuple[str, list[Any]]:
        terms: list[str] = []
        args: list[Any] = []
        for cond, value in (("r.destination = %s", flt.destination), ("r.kind = %s", flt.kind),
                            ("d.message_id = %s", flt.message_id), ("d.partition = %s", flt.partition),
                            ("d.dead_at >= %s", flt.since), ("d.dead_at < %s", flt.until)):
            if value is not None:
                terms.append(cond)
                args.append(value)
        if flt.reason_contains:
            terms.append("strpos(lower(d.reason), lower(%s)) > 0")
            args.append(flt.reason_contains)
        if flt.ids is not None:
            terms.append("d.id = ANY(%s)")
            args.append(list(flt.ids))
        return (" WHERE " + " AND ".join(terms)) if terms else "", args

    def list_dead(self, flt: DeadLetterFilter = DeadLetterFilter(), limit: int = 100,
                  offset: int = 0) -> list[DeadLetter]:
        where, args = self._where(flt)
        with self._connection() as c:
            rows = c.execute(
                "SELECT d.id, d.route_id, d.entry, d.partition, d.message_id, d.created_at, d.dead_at, d.attempts, "
                f"d.reason FROM amprelay_dead_letters d JOIN amprelay_routes r ON r.id = d.route_id{where} "
                "ORDER BY d.id LIMIT %s OFFSET %s", [*args, limit if limit >= 0 else None, offset]).fetchall()
            return [DeadLetter(i, self._route(c, rid), bytes(e), p, m, ca, da, a, reason)
                    for i, rid, e, p, m, ca, da, a, reason in rows]

    def count_dead(self, flt: DeadLetterFilter = DeadLetterFilter()) -> int:
        where, args = self._where(flt)
        with self._connection() as c:
            return c.execute(f"SELECT COUNT(*) FROM amprelay_dead_letters d JOIN amprelay_routes r "
                             f"ON r.id = d.route_id{where}", args).fetchone()[0]

    def requeue_dead(self, flt: DeadLetterFilter = DeadLetterFilter(), now: float | None = None) -> int:
        now = time.time() if now is None else now
        where, args = self._where(flt)
        where = (where + " AND " if where else " WHERE ") + "r.kind <> 'rejected'"
        with self._connection() as c, c.transaction():
            rows = c.execute(
                f"SELECT d.id, d.route_id, d.partition, d.message_id, d.entry FROM amprelay_dead_letters d "
                f"JOIN amprelay_routes r ON r.id = d.route_id{where} ORDER BY d.unit_id, d.id FOR UPDATE OF d",
                args).fetchall()
            if not rows:
                return 0
            c.execute(
                "INSERT INTO amprelay_units (route_id, bucket, partition, message_id, entry, created_at) "
                "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[], %s::bytea[], %s::float8[])",
                ([r[1] for r in rows], [bucket_of(r[2]) for r in rows], [r[2] for r in rows], [r[3] for r in rows],
                 [bytes(r[4]) for r in rows], [now] * len(rows)))
            c.execute("DELETE FROM amprelay_dead_letters WHERE id = ANY(%s)", ([r[0] for r in rows],))
            return len(rows)

    def purge_dead(self, flt: DeadLetterFilter = DeadLetterFilter()) -> int:
        where, args = self._where(flt)
        with self._connection() as c:
            return c.execute(f"DELETE FROM amprelay_dead_letters WHERE id IN (SELECT d.id FROM "
                             f"amprelay_dead_letters d JOIN amprelay_routes r ON r.id = d.route_id{where})",
                             args).rowcount

    # -- stats --------------------------------------------------------------------------------------

    def size_bytes(self) -> int:
        with self._connection() as c:
            return c.execute("SELECT pg_total_relation_size('amprelay_units') + "
                             "pg_total_relation_size('amprelay_dead_letters')").fetchone()[0]

    def stats(self, now: float | None = None) -> QueueStats:
        now = time.time() if now is None else now
        with self._connection() as c:
            s = QueueStats()
            for dest, n in c.execute("SELECT r.destination, COUNT(*) FROM amprelay_units u JOIN amprelay_routes r "
                                     "ON r.id = u.route_id GROUP BY r.destination"):
                s.depth_by_destination[dest] = n
                s.depth += n
            s.leased, s.waiting, s.oldest_created_at = c.execute(
                "SELECT COUNT(*) FILTER (WHERE lease_owner IS NOT NULL), "
                "COUNT(*) FILTER (WHERE not_before > %s), MIN(created_at) FROM amprelay_units", (now,)).fetchone()
            for dest, n in c.execute("SELECT r.destination, COUNT(*) FROM amprelay_dead_letters d JOIN "
                                     "amprelay_routes r ON r.id = d.route_id GROUP BY r.destination"):
                s.dead_by_destination[dest] = n
                s.dead_letters += n
            return s

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and not self._conn.closed:
                self._conn.close()
            self._conn = None


class _Pending:
    __slots__ = ("units", "dead", "ids")

    def __init__(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]]):
        self.units = units
        self.dead = dead
        self.ids: list[int] = []


class _Conn:
    """The shared connection under the queue's lock; reconnects after PostgreSQL restarts."""

    def __init__(self, q: PostgresQueue):
        self.q = q

    def __enter__(self) -> psycopg.Connection:
        self.q._lock.acquire()
        try:
            return self.q._connect()
        except BaseException:
            self.q._lock.release()
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc is not None and isinstance(exc, psycopg.OperationalError) and self.q._conn is not None:
                try:
                    self.q._conn.close()
                finally:
                    self.q._conn = None
        finally:
            self.q._lock.release()
