"""The PostgreSQL queue backend, for many relays (on many machines) sharing one queue.

Ordering across workers: every unit belongs to one of ``BUCKETS`` buckets, a stable hash of its
partition (the user id, else the device id). A worker leases units only from buckets it owns; a
bucket is owned by one worker at a time through a short lease (``bucket_lease_seconds``), renewed
at most once a second and taken with ``FOR UPDATE SKIP LOCKED``. Live workers share the buckets
evenly; a dead worker's buckets expire and are taken over, and the units it had leased are
released to the new owner (any it had in flight are at worst resent, and Amplitude deduplicates
them by insert_id). Within a worker the same ordering rules as SQLite hold (see
:mod:`amprelay.store.base`).

Work per unit (PostgreSQL's CPU is what several relays share): a unit is inserted once (one
multi-row INSERT per enqueue, binary parameters), leased by an update in place (no index covers
the lease columns, and pages keep room for it: a HOT update), and deleted once; the worker keeps
its own leases in memory, so a lease locks no rows it does not take, and after a scan that found
nothing ready it reads only newer units. Settlements are one statement per kind, fenced by the
lease tokens in the statement itself.

Durability: every write commits with PostgreSQL's ``synchronous_commit`` (on by default), so an
enqueue returns only once the units are on disk. Concurrent enqueues in one process share one
transaction (group commit).

The schema (queue, sessions, dedupe) is created and migrated by :mod:`amprelay.store.pg_schema`
(``amprelay migrate``, or on open); its version is kept in ``amprelay_schema``.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence

import psycopg

from amprelay import defaults
from amprelay.store import pg_deadletters
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
from amprelay.store.pg_dedupe import claim_keys, dedupe_key
from amprelay.store.pg_schema import BUCKETS, SCHEMA_VERSION, bucket_of, migrate, one_row
from amprelay.store.pg_state import Pending, WorkerState
from amprelay.store.sqlite import SCAN_WINDOW

__all__ = ["BUCKETS", "SCHEMA_VERSION", "PostgresQueue", "bucket_of", "dedupe_key", "migrate"]


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
        self._workers: dict[str, WorkerState] = {}  # worker id -> its buckets and leased units, as seen here
        # bucket ownership is renewed (and the live workers counted) at most this often
        self._refresh_seconds = min(1.0, bucket_lease_seconds / 4)
        # The schema is brought up to date on the first connection. A database that is down at
        # start is no error: every use tries to connect again (the relay answers 503 meanwhile).
        self._migrated = not auto_migrate
        if auto_migrate:
            with contextlib.suppress(psycopg.OperationalError), self._connection():
                pass
        self._group: GroupCommit[Pending] = GroupCommit(self._write_group, name="amprelay-pg-writer")

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
            rid = one_row(c.execute("SELECT id FROM amprelay_routes WHERE key = %s", (stored,)))[0]
            self._route_ids[key] = rid
            self._routes[rid] = route
        return rid

    def _route(self, c: psycopg.Connection, rid: int) -> UnitRoute:
        route = self._routes.get(rid)
        if route is None:
            key = one_row(c.execute("SELECT key FROM amprelay_routes WHERE id = %s", (rid,)))[0]
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
        me = Pending(units, dead, claims if claims and claims.units_of else None)
        self._group.submit(me)
        return me.ids

    def _write_group(self, group: list[Pending]) -> None:
        # the arrays go as binary parameters (%b): PostgreSQL parses text arrays of bytea slowly
        try:
            with self._connection() as c, c.transaction():
                now = time.time()
                self._claim(c, group)
                self._copy_units(c, group)
                for p in group:
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

    def _copy_units(self, c: psycopg.Connection, group: list[Pending]) -> None:
        """A group's units in one COPY (one write per page rather than per row), under ids drawn
        from the table's sequence in one query, in enqueue order."""
        units = [u for p in group for u in p.units]
        if not units:
            return
        rids = [self._route_id(c, u.route) for u in units]  # (no other statement while copying)
        ids = sorted(r[0] for r in c.execute(
            "SELECT nextval('amprelay_units_id_seq') FROM generate_series(1, %s)", (len(units),)))
        with c.cursor().copy("COPY amprelay_units (id, route_id, bucket, partition, message_id, entry, created_at) "
                             "FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int8", "int4", "text", "text", "bytea", "float8"])
            for uid, rid, u in zip(ids, rids, units, strict=True):
                copy.write_row((uid, rid, bucket_of(u.partition), u.partition, u.message_id, u.entry, u.created_at))
        start = 0
        for p in group:
            p.ids, start = ids[start:start + len(p.units)], start + len(p.units)

    def _claim(self, c: psycopg.Connection, group: list[Pending]) -> None:
        """The dedupe claims of a group's enqueues, in one statement whose rows are in one order
        (of their keys, see :func:`dedupe_key`) for every relay (no deadlock between relays). An
        insert that conflicts with the same message seen within the window, or with one another
        relay's open transaction is inserting (it waits for that one), returns nothing: that
        message is a duplicate; so is a pair an earlier enqueue of the same group claimed."""
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
        # one row per key; a pair whose key an earlier pair of this group has (a hash collision)
        # is not recorded and counts as new (a collision never makes a message a duplicate)
        by_key: dict[int, tuple[tuple[str, str], bytes]] = {}
        unrecorded: set[tuple[str, str]] = set()
        for pair in first:
            key, message = dedupe_key(*pair)
            if by_key.setdefault(key, (pair, message))[0] != pair:
                unrecorded.add(pair)
        rows = sorted((k, m) for k, (_, m) in by_key.items())
        claimed = unrecorded | {by_key[k][0] for k in claim_keys(c, rows, now, cutoff)}
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

    def _worker(self, c: psycopg.Connection, worker_id: str) -> WorkerState:
        """This queue's view of ``worker_id``: its buckets and the units it has leased. The units
        another queue object leased under the same id are read once from the table."""
        w = self._workers.get(worker_id)
        if w is None:
            w = WorkerState()
            for uid, part, until in c.execute(
                    "SELECT id, partition, lease_until FROM amprelay_units WHERE lease_owner = %s", (worker_id,)):
                w.leases[uid] = (part, until or 0.0)
            self._workers[worker_id] = w
        return w

    def _claim_buckets(self, c: psycopg.Connection, worker_id: str, w: WorkerState, now: float) -> list[int]:
        """The buckets ``worker_id`` owns at ``now``. Ownership is renewed, and the live workers
        counted (for an even share), at most every ``_refresh_seconds``; in between, the buckets
        it renewed are its own (their leases run a whole ``bucket_lease_seconds``). A worker that
        owns none looks for some on every lease."""
        if w.owned and w.checked_at <= now < w.checked_at + self._refresh_seconds:
            return w.owned
        until = now + self.bucket_lease_seconds
        owned = [r[0] for r in c.execute(
            "UPDATE amprelay_buckets SET lease_until = %s WHERE owner = %s AND lease_until >= %s RETURNING bucket",
            (until, worker_id, now))]
        c.execute("INSERT INTO amprelay_workers (worker_id, seen_at) VALUES (%s, %s) "
                  "ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at", (worker_id, now))
        live = one_row(c.execute("SELECT COUNT(*) FROM amprelay_workers WHERE worker_id <> %s AND seen_at >= %s",
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
            busy = {bucket_of(part) for part, _ in w.leases.values()}
            surplus = [b for b in sorted(owned, reverse=True) if b not in busy][: len(owned) - target]
            if surplus:
                c.execute("UPDATE amprelay_buckets SET owner = NULL, lease_until = 0 "
                          "WHERE bucket = ANY(%s) AND owner = %s", (surplus, worker_id))
                owned = [b for b in owned if b not in surplus]
        w.owned, w.checked_at = sorted(owned), now
        return w.owned

    def lease(self, worker_id: str, max_units: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        now = time.time() if now is None else now
        until = now + lease_seconds
        w: WorkerState | None = None
        try:
            with self._connection() as c, c.transaction():
                w = self._worker(c, worker_id)
                chosen = self._lease(c, worker_id, w, max_units, until, now)
        except BaseException:
            if w is not None:  # what was renewed or claimed may have been rolled back
                w.checked_at, w.clean_upto = -math.inf, 0
            raise
        for u in chosen:  # recorded once the transaction committed
            w.leases[u.id] = (u.partition, until)
        return chosen

    def _lease(self, c: psycopg.Connection, worker_id: str, w: WorkerState, max_units: int, until: float,
               now: float) -> list[Lease]:
        owned = self._claim_buckets(c, worker_id, w, now)
        if not owned or max_units <= 0:
            return []
        # partitions with a unit in flight (leased by this worker: the others' leases in these
        # buckets were released when they were taken over) or waiting for a retry send nothing
        # now; the rest are scanned in enqueue order within a window, so a throttled backlog
        # hides no one. An expired lease is leased again.
        expired = [uid for uid, (_, end) in w.leases.items() if end < now]
        for uid in expired:
            del w.leases[uid]
        blocked = {part for part, _ in w.leases.values()}
        waiting = c.execute("SELECT partition, MIN(not_before) FROM amprelay_units WHERE not_before > 0 AND "
                            "bucket = ANY(%s) AND not_before > %s GROUP BY partition", (owned, now)).fetchall()
        blocked.update(part for part, _ in waiting)
        due = min((nb for _, nb in waiting), default=math.inf)
        # After a scan that found nothing ready, only newer units can be ready until something
        # unblocks a partition (a settlement, an expired lease, a retry coming due, other buckets);
        # each lease then reads only the units enqueued since, and the whole window at least once
        # a second (a unit whose id was drawn before the last scan but committed after it).
        if (expired or owned != w.clean_owned or now >= w.clean_due or not w.clean_at <= now < w.clean_at + 1.0):
            w.clean_upto = 0
        after = w.clean_upto
        top = one_row(c.execute("SELECT COALESCE(MAX(id), 0) FROM amprelay_units"))[0]
        # the window is read without the entries; only the chosen units' come back, with their lease.
        # Not prepared: planned with its arrays as constants, "NOT partition = ANY" is a hash lookup.
        # Not by a bitmap scan: that visits every settled (deleted) unit not yet vacuumed away on
        # every lease, where an index scan marks their entries dead once, for every later scan
        # (a window behind 20,000 settled units: 1.8 ms -> 0.5 ms).
        c.execute("SET LOCAL enable_bitmapscan = off")
        rows = c.execute(
            "SELECT id, route_id, partition, attempts FROM amprelay_units WHERE bucket = ANY(%s) AND id > %s "
            "AND (lease_owner IS NULL OR lease_until < %s) AND not_before <= %s AND NOT (partition = ANY(%s)) "
            "ORDER BY id LIMIT %s",
            (owned, after, now, now, list(blocked), max(SCAN_WINDOW, 2 * max_units)), prepare=False).fetchall()
        if not rows:
            if not after:
                w.clean_at, w.clean_owned = now, owned
            w.clean_upto, w.clean_due = top, due
            return []
        # (found some: what was blocked up to clean_upto stays blocked; leasing blocks only more)
        picked = pick_runs(rows, max_units)
        token = one_row(c.execute("SELECT nextval('amprelay_lease_tokens')"))[0]
        # only units nobody leased meanwhile (a bucket just taken over by another worker): the
        # update waits for such a worker's transaction and then leaves its units alone
        ids = [r[0] for r in picked]
        got = {r[0]: r for r in c.execute(
            "UPDATE amprelay_units u SET lease_owner = %s, lease_until = %s, not_before = 0, lease_token = %s "
            "FROM unnest(%b::bigint[]) AS t(id) WHERE u.id BETWEEN %s AND %s AND u.id = t.id "
            "AND (u.lease_owner IS NULL OR u.lease_until < %s) "
            "RETURNING u.id, u.route_id, u.partition, u.attempts, u.message_id, u.entry, u.created_at, u.last_error",
            (worker_id, until, token, ids, ids[0], ids[-1], now))}
        if len(got) < len(picked):
            # a partition missing a unit sends none of its later ones now (order holds)
            holed = {r[2] for r in picked if r[0] not in got}
            back = [r[0] for r in picked if r[0] in got and r[2] in holed]
            if back:
                c.execute("UPDATE amprelay_units SET lease_owner = NULL, lease_until = NULL WHERE id = ANY(%s)",
                          (back,))
            picked = [r for r in picked if r[0] in got and r[2] not in holed]
        return [Lease(uid, self._route(c, rid), bytes(entry), part, mid, created, attempts, err, token)
                for uid, rid, part, attempts, mid, entry, created, err in (got[r[0]] for r in picked)]

    def release(self, worker_id: str) -> int:
        with self._connection() as c, c.transaction():
            n = c.execute("UPDATE amprelay_units SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = %s",
                          (worker_id,)).rowcount
            c.execute("UPDATE amprelay_buckets SET owner = NULL, lease_until = 0 WHERE owner = %s", (worker_id,))
            c.execute("DELETE FROM amprelay_workers WHERE worker_id = %s", (worker_id,))
        self._workers.pop(worker_id, None)
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
        return self._settle(acks, retries, deads, now, tokens or {})

    def _settle(self, acks: list[int], retries: list[RetryItem], deads: list[tuple[int, str]], now: float,
                tokens: Mapping[int, int]) -> list[int]:
        """One statement per kind of outcome; a fenced unit (one with a token) changes only while
        its row still carries that token, so a stale settlement changes nothing. The rows are
        found by one range scan of the primary key between the lowest and the highest id (joined
        with the ids), not by one index descent per id."""
        done: set[int] = set()
        with self._connection() as c, c.transaction():
            if acks:
                done.update(r[0] for r in c.execute(
                    "DELETE FROM amprelay_units u USING unnest(%s::bigint[], %s::bigint[]) AS t(id, tok) "
                    "WHERE u.id BETWEEN %s AND %s AND u.id = t.id AND (t.tok IS NULL OR u.lease_token = t.tok) "
                    "RETURNING u.id", (acks, [tokens.get(i) for i in acks], min(acks), max(acks))))
            if retries:
                done.update(r[0] for r in c.execute(
                    "UPDATE amprelay_units u SET lease_owner = NULL, lease_until = NULL, not_before = t.nb, "
                    "last_error = COALESCE(t.err, u.last_error), attempts = u.attempts + t.inc "
                    "FROM unnest(%s::bigint[], %s::float8[], %s::text[], %s::int[], %s::bigint[]) "
                    "AS t(id, nb, err, inc, tok) WHERE u.id BETWEEN %s AND %s AND u.id = t.id "
                    "AND (t.tok IS NULL OR u.lease_token = t.tok) RETURNING u.id",
                    ([r.id for r in retries], [max(r.not_before, 0.0) for r in retries], [r.error for r in retries],
                     [1 if r.count_attempt else 0 for r in retries], [tokens.get(r.id) for r in retries],
                     min(r.id for r in retries), max(r.id for r in retries))))
            if deads:
                done.update(r[0] for r in c.execute(
                    "WITH gone AS (DELETE FROM amprelay_units u USING unnest(%s::bigint[], %s::text[], %s::bigint[]) "
                    "AS t(id, reason, tok) WHERE u.id BETWEEN %s AND %s AND u.id = t.id "
                    "AND (t.tok IS NULL OR u.lease_token = t.tok) "
                    "RETURNING u.*, t.reason) "
                    "INSERT INTO amprelay_dead_letters (unit_id, route_id, partition, message_id, entry, created_at, "
                    "dead_at, attempts, reason) SELECT id, route_id, partition, message_id, entry, created_at, %s, "
                    "attempts + 1, reason FROM gone RETURNING unit_id",
                    ([d[0] for d in deads], [d[1] for d in deads], [tokens.get(d[0]) for d in deads],
                     min(d[0] for d in deads), max(d[0] for d in deads), now)))
        settled = [*acks, *(r.id for r in retries), *(d[0] for d in deads)]
        for w in self._workers.values():  # settled or stale, these units are no longer in flight here
            for uid in settled:
                w.leases.pop(uid, None)
            w.clean_upto = 0  # their partitions may have more to send
        stale = [i for i in settled if i in tokens and i not in done]
        self.stale_settlements += len(stale)
        return stale

    # -- dead letters and stats (the statements are in amprelay.store.pg_deadletters) --------------

    def list_dead(self, flt: DeadLetterFilter = DeadLetterFilter(), limit: int = 100,
                  offset: int = 0) -> list[DeadLetter]:
        with self._connection() as c:
            return pg_deadletters.list_dead(c, self._route, flt, limit, offset)

    def count_dead(self, flt: DeadLetterFilter = DeadLetterFilter()) -> int:
        with self._connection() as c:
            return pg_deadletters.count_dead(c, flt)

    def requeue_dead(self, flt: DeadLetterFilter = DeadLetterFilter(), now: float | None = None) -> int:
        with self._connection() as c, c.transaction():
            return pg_deadletters.requeue_dead(c, flt, time.time() if now is None else now)

    def purge_dead(self, flt: DeadLetterFilter = DeadLetterFilter()) -> int:
        with self._connection() as c:
            return pg_deadletters.purge_dead(c, flt)

    def size_bytes(self) -> int:
        with self._connection() as c:
            return pg_deadletters.size_bytes(c)

    def stats(self, now: float | None = None) -> QueueStats:
        with self._connection() as c:
            return pg_deadletters.stats(c, time.time() if now is None else now)

    def close(self) -> None:
        self._group.close()
        with self._lock:
            if self._conn is not None and not self._conn.closed:
                self._conn.close()
            self._conn = None


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
