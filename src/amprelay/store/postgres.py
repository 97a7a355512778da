"""The PostgreSQL queue backend, for many relays (on many machines) sharing one queue.

Ordering across workers: every unit belongs to one of ``BUCKETS`` buckets, a stable hash of its
partition (the user id, else the device id). A worker leases units only from buckets it owns; a
bucket is owned by one worker at a time through a short, renewed lease (``bucket_lease_seconds``)
taken with ``FOR UPDATE SKIP LOCKED``. Live workers share the buckets evenly; a dead worker's
buckets expire and are taken over, and the units it had leased are released to the new owner
(any it had in flight are at worst resent, and Amplitude deduplicates them by insert_id). Within
a worker the same ordering rules as SQLite hold (see :mod:`amprelay.store.base`).

Durability: every write commits with PostgreSQL's ``synchronous_commit`` (on by default), so an
enqueue returns only once the units are on disk. Concurrent enqueues in one process share one
transaction (group commit). Delivered units are deleted by primary key in small statements, so
cleanup never holds long locks.

The schema (queue, sessions, dedupe) is created and migrated by :mod:`amprelay.store.pg_schema`
(``amprelay migrate``, or on open); its version is kept in ``amprelay_schema``.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from amprelay import defaults
from amprelay.store.base import (
    DEDUPE_PRUNE_SECONDS,
    ApiKeys,
    DeadLetter,
    DeadLetterFilter,
    InboxReceipt,
    Lease,
    MessageClaims,
    NewUnit,
    QueueStats,
    RetryItem,
    SettleShortcuts,
    UnitRoute,
    pick_runs,
    route_at_rest,
    route_resolved,
)
from amprelay.store.groupcommit import GroupCommit
from amprelay.store.pg_schema import BUCKETS, SCHEMA_VERSION, migrate
from amprelay.store.sqlite import SCAN_WINDOW

__all__ = ["BUCKETS", "SCHEMA_VERSION", "PostgresQueue", "bucket_of", "migrate"]


def _one(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The one row a query always returns (COUNT, nextval, a row just written)."""
    row = cursor.fetchone()
    if row is None:
        raise psycopg.DataError("the query returned no row")
    return row


def bucket_of(partition: str) -> int:
    return zlib.crc32(partition.encode("utf-8")) % BUCKETS


class PostgresQueue(SettleShortcuts):
    """:class:`amprelay.store.base.Queue` on PostgreSQL (psycopg 3)."""

    def __init__(self, dsn: str, *, bucket_lease_seconds: float = defaults.BUCKET_LEASE_SECONDS,
                 auto_migrate: bool = True, connect_timeout: float = 5.0):
        if not dsn:
            raise ValueError("queue.dsn is required for the postgres backend")
        self.dsn = dsn
        self.bucket_lease_seconds = bucket_lease_seconds
        self.connect_timeout = connect_timeout
        self._lock = threading.RLock()  # the shared connection
        self._conn: psycopg.Connection | None = None
        self._route_ids: dict[str, int] = {}
        self._routes: dict[int, UnitRoute] = {}
        self.write_error: str | None = None  # why the last write failed, until one succeeds
        self._api_keys: ApiKeys | None = None
        self._pruned_at = 0.0
        self._backoff = 0.0  # seconds between connection attempts while the database is away
        self._retry_at = 0.0
        self._connect_error = ""
        self.stale_settlements = 0
        # The schema is brought up to date on the first connection. A database that is down at
        # start is no error: every use tries to connect again (the relay answers 503 meanwhile).
        self._migrated = not auto_migrate
        if auto_migrate:
            with contextlib.suppress(psycopg.OperationalError), self._connection():
                pass
        self._group: GroupCommit[_Pending] = GroupCommit(self._write_group, name="amprelay-pg-writer")

    def set_api_keys(self, api_keys: ApiKeys | None) -> None:
        with self._lock:
            self._api_keys = api_keys
            self._routes.clear()
            self._route_ids.clear()

    # -- connection ---------------------------------------------------------------------------

    def _connection(self) -> _Conn:
        return _Conn(self)

    def _connect(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            # After a failed connect, callers fail fast until the backoff has passed (ingest
            # requests then answer 503 at once instead of each waiting for a connect timeout).
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                raise psycopg.OperationalError(f"{self._connect_error} (next attempt in {wait:.1f}s)")
            try:
                self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=int(self.connect_timeout))
            except psycopg.OperationalError as exc:
                self._connect_error = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreachable"
                self._backoff = min(5.0, max(0.25, self._backoff * 2))
                self._retry_at = time.monotonic() + self._backoff
                raise
            self._backoff = 0.0
            self._route_ids.clear()
            self._routes.clear()
            if not self._migrated:
                try:
                    migrate(self._conn)
                except BaseException:
                    self._conn.close()
                    self._conn = None
                    raise
                self._migrated = True
        return self._conn

    def _route_id(self, c: psycopg.Connection, route: UnitRoute) -> int:
        key = route.key()
        rid = self._route_ids.get(key)
        if rid is None:
            stored = route_at_rest(route).key()  # no API key at rest
            c.execute("INSERT INTO amprelay_routes (key, destination, kind) VALUES (%s, %s, %s) "
                      "ON CONFLICT (key) DO NOTHING", (stored, route.destination, route.kind))
            rid = _one(c.execute("SELECT id FROM amprelay_routes WHERE key = %s", (stored,)))[0]
            self._route_ids[key] = rid
            self._routes[rid] = route
        return rid

    def _route(self, c: psycopg.Connection, rid: int) -> UnitRoute:
        route = self._routes.get(rid)
        if route is None:
            key = _one(c.execute("SELECT key FROM amprelay_routes WHERE id = %s", (rid,)))[0]
            route = route_resolved(UnitRoute.from_key(key), self._api_keys)
            self._routes[rid] = route
            self._route_ids[route.key()] = rid
        return route

    # -- enqueue (group commit) -----------------------------------------------------------------

    def enqueue(self, units: Sequence[NewUnit]) -> list[int]:
        return self.enqueue_with_dead(units, ())

    def enqueue_with_dead(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                          consumed: InboxReceipt | None = None, claims: MessageClaims | None = None) -> list[int]:
        if consumed is not None:
            raise ValueError("the PostgreSQL store has no inbox (its relays transform inline)")
        if not units and not dead and not (claims and claims.units_of):
            return []
        me = _Pending(units, dead, claims if claims and claims.units_of else None)
        self._group.submit(me)
        return me.ids

    def _write_group(self, group: list[_Pending]) -> None:
        try:
            with self._connection() as c, c.transaction():
                now = time.time()
                self._claim(c, group)
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

    def _claim(self, c: psycopg.Connection, group: list[_Pending]) -> None:
        """The dedupe claims of a group's enqueues, in one statement whose rows are in one order
        for every relay (no deadlock between relays). An insert that conflicts with a row seen
        within the window, or with one another relay's open transaction is inserting (it waits
        for that one), returns nothing: that message is a duplicate; so is a pair an earlier
        enqueue of the same group claimed."""
        first: dict[tuple[str, str], tuple[float, float]] = {}  # pair -> (now, cutoff) of its first claim
        for p in group:
            claims = p.claims
            if claims is None:
                continue
            for pair in claims.units_of:
                first.setdefault(pair, (claims.now, claims.now - claims.window))
        if not first:
            return
        now = max(n for n, _ in first.values())
        cutoff = min(cut for _, cut in first.values())  # one relay's claims share its window
        if now - self._pruned_at >= DEDUPE_PRUNE_SECONDS:
            c.execute("DELETE FROM amprelay_dedupe WHERE seen_at < %s", (cutoff,))
            self._pruned_at = now
        pairs = sorted(first)
        claimed = {(s, m) for s, m in c.execute(
            "INSERT INTO amprelay_dedupe AS d (source, message_id, seen_at) "
            "SELECT s, m, %s FROM unnest(%s::text[], %s::text[]) AS t(s, m) ORDER BY s, m "
            "ON CONFLICT (source, message_id) DO UPDATE SET seen_at = excluded.seen_at WHERE d.seen_at < %s "
            "RETURNING d.source, d.message_id",
            (now, [q[0] for q in pairs], [q[1] for q in pairs], cutoff)).fetchall()}
        taken: set[tuple[str, str]] = set()
        for p in group:
            claims = p.claims
            if claims is None:
                continue
            claims.duplicates = {q for q in claims.units_of if q not in claimed or q in taken}
            taken.update(claims.units_of)
            if claims.duplicates:
                skip_units, skip_dead = claims.skipped()
                p.units = [u for i, u in enumerate(p.units) if i not in skip_units]
                p.dead = [d for i, d in enumerate(p.dead) if i not in skip_dead]

    # -- buckets and leases ---------------------------------------------------------------------

    def _claim_buckets(self, c: psycopg.Connection, worker_id: str, now: float) -> list[int]:
        until = now + self.bucket_lease_seconds
        owned = [r[0] for r in c.execute(
            "UPDATE amprelay_buckets SET lease_until = %s WHERE owner = %s AND lease_until >= %s RETURNING bucket",
            (until, worker_id, now))]
        c.execute("INSERT INTO amprelay_workers (worker_id, seen_at) VALUES (%s, %s) "
                  "ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at", (worker_id, now))
        live = _one(c.execute("SELECT COUNT(*) FROM amprelay_workers WHERE worker_id <> %s AND seen_at >= %s",
                         (worker_id, now - self.bucket_lease_seconds)))[0] + 1
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
            picked = pick_runs(rows, max_units)
            if not picked:
                return []
            token = _one(c.execute("SELECT nextval('amprelay_lease_tokens')"))[0]
            chosen = [Lease(uid, self._route(c, rid), bytes(entry), part, mid, created, attempts, err, token)
                      for uid, rid, part, attempts, mid, entry, created, err in picked]
            c.execute("UPDATE amprelay_units SET lease_owner = %s, lease_until = %s, not_before = 0, "
                      "lease_token = %s WHERE id = ANY(%s)",
                      (worker_id, now + lease_seconds, token, [u.id for u in chosen]))
            return chosen

    def release(self, worker_id: str) -> int:
        with self._connection() as c, c.transaction():
            n = c.execute("UPDATE amprelay_units SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = %s",
                          (worker_id,)).rowcount
            c.execute("UPDATE amprelay_buckets SET owner = NULL, lease_until = 0 WHERE owner = %s", (worker_id,))
            c.execute("DELETE FROM amprelay_workers WHERE worker_id = %s", (worker_id,))
            return n

    def settle(self, ack: Iterable[int] = (), retry: Iterable[RetryItem] = (),
               dead: Iterable[tuple[int, str]] = (), now: float | None = None,
               tokens: Mapping[int, int] | None = None) -> list[int]:
        now = time.time() if now is None else now
        acks = list(ack)
        retries = list(retry)
        deads = list(dead)
        if not (acks or retries or deads):
            return []
        return self._settle(acks, retries, deads, now, tokens)

    def _settle(self, acks: list[int], retries: list[RetryItem], deads: list[tuple[int, str]], now: float,
                tokens: Mapping[int, int] | None) -> list[int]:
        stale: list[int] = []
        with self._connection() as c, c.transaction():
            if tokens:
                fenced = [i for i in [*acks, *(r.id for r in retries), *(d[0] for d in deads)] if i in tokens]
                current: dict[int, int] = dict(c.execute("SELECT id, lease_token FROM amprelay_units WHERE id = ANY(%s) FOR UPDATE",
                                         (fenced,)).fetchall())
                stale = [i for i in fenced if current.get(i) != tokens[i]]
                if stale:
                    bad = set(stale)
                    acks = [i for i in acks if i not in bad]
                    retries = [r for r in retries if r.id not in bad]
                    deads = [d for d in deads if d[0] not in bad]
                    self.stale_settlements += len(stale)
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
        return stale

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
            return _one(c.execute(f"SELECT COUNT(*) FROM amprelay_dead_letters d JOIN amprelay_routes r "
                             f"ON r.id = d.route_id{where}", args))[0]

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
            return _one(c.execute("SELECT pg_total_relation_size('amprelay_units') + "
                             "pg_total_relation_size('amprelay_dead_letters')"))[0]

    def stats(self, now: float | None = None) -> QueueStats:
        now = time.time() if now is None else now
        with self._connection() as c:
            s = QueueStats()
            for dest, n in c.execute("SELECT r.destination, COUNT(*) FROM amprelay_units u JOIN amprelay_routes r "
                                     "ON r.id = u.route_id GROUP BY r.destination"):
                s.depth_by_destination[dest] = n
                s.depth += n
            s.leased, s.waiting, s.oldest_created_at = _one(c.execute(
                "SELECT COUNT(*) FILTER (WHERE lease_owner IS NOT NULL), "
                "COUNT(*) FILTER (WHERE not_before > %s), MIN(created_at) FROM amprelay_units", (now,)))
            for dest, n in c.execute("SELECT r.destination, COUNT(*) FROM amprelay_dead_letters d JOIN "
                                     "amprelay_routes r ON r.id = d.route_id GROUP BY r.destination"):
                s.dead_by_destination[dest] = n
                s.dead_letters += n
            return s

    def close(self) -> None:
        self._group.close()
        with self._lock:
            if self._conn is not None and not self._conn.closed:
                self._conn.close()
            self._conn = None


class _Pending:
    __slots__ = ("units", "dead", "claims", "ids")

    def __init__(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                 claims: MessageClaims | None = None):
        self.units = units
        self.dead = dead
        self.claims = claims
        self.ids: list[int] = []


class _Conn:
    """The shared connection under the queue's lock; reconnects after PostgreSQL restarts."""

    def __init__(self, q: PostgresQueue):
        self.q = q

    def __enter__(self) -> psycopg.Connection:
        self.q._lock.acquire()
        try:
            return self.q._connect()
        except BaseException as exc:
            if isinstance(exc, psycopg.OperationalError):
                self.q.write_error = f"the store cannot write: {exc}"
            self.q._lock.release()
            raise

    def __exit__(self, _exc_type, exc, tb) -> None:
        if exc is None:
            self.q.write_error = None
        elif isinstance(exc, psycopg.OperationalError):
            self.q.write_error = f"the store cannot write: {exc}"
        try:
            if exc is not None and isinstance(exc, psycopg.OperationalError) and self.q._conn is not None:
                try:
                    self.q._conn.close()
                finally:
                    self.q._conn = None
        finally:
            self.q._lock.release()
