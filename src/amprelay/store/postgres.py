"""The PostgreSQL queue backend, for many relays (on many machines) sharing one queue.

Ordering across workers: every unit belongs to one of ``BUCKETS`` buckets, a stable hash of its
partition (the user id, else the device id). A worker leases units only from buckets it owns; a
bucket is owned by one worker at a time through a short lease (``bucket_lease_seconds``), renewed
at most four times a second and taken with ``FOR UPDATE SKIP LOCKED``. Live workers share the buckets
evenly; a dead worker's buckets expire and are taken over, and the units it had leased are
the new owner's to send (any it had in flight are at worst resent, and Amplitude deduplicates
them by insert_id). Within a worker the same ordering rules as SQLite hold (see
:mod:`amprelay.store.base`).

Work per unit (PostgreSQL's CPU is what several relays share): a unit is inserted once (one
pipelined transaction per group of enqueues), read once when leased and deleted once. A lease
writes nothing to its units: the worker keeps its leases in memory (a unit in flight blocks its
partition there), and after a scan that found nothing ready it reads only newer units. A settlement is fenced twice:
by the lease's token against this worker's own later leases of the unit (in memory), and by the
epoch of the unit's bucket against other workers: the epoch changes whenever the bucket changes
hands, and the settlement locks its buckets' rows (``FOR SHARE``) while it checks them, so a
takeover waits for it or it sees the takeover. Then one statement per kind of outcome.

Durability: every write commits with PostgreSQL's ``synchronous_commit`` (on by default), so an
enqueue returns only once the units are on disk. Concurrent enqueues in one process share one
transaction (group commit).

The schema (queue, sessions, dedupe) is created and migrated by :mod:`amprelay.store.pg_schema`
(``amprelay migrate``, or on open); its version is kept in ``amprelay_schema``.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

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
from amprelay.store.pg_state import InFlight, Pending, WorkerState
from amprelay.store.pg_vacuum import UnitsVacuum
from amprelay.store.sqlite import SCAN_WINDOW

__all__ = ["BUCKETS", "SCHEMA_VERSION", "PostgresQueue", "bucket_of", "dedupe_key", "migrate"]


class PostgresQueue(SettleShortcuts):
    """:class:`amprelay.store.base.Queue` on PostgreSQL (psycopg 3)."""

    def __init__(self, dsn: str, *, bucket_lease_seconds: float = defaults.BUCKET_LEASE_SECONDS,
                 auto_migrate: bool = True, connect_timeout: float = 5.0,
                 vacuum_units: int = defaults.VACUUM_UNITS):
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
        self._tokens = itertools.count(1)  # lease tokens, unique within this queue object
        # bucket ownership is renewed (and the live workers counted) at most this often: a relay
        # that joins gets its share within about this long when the others have idle buckets,
        # else once they drained theirs
        self._refresh_seconds = min(0.25, bucket_lease_seconds / 4)
        # The schema is brought up to date on the first connection. A database that is down at
        # start is no error: every use tries to connect again (the relay answers 503 meanwhile).
        self._migrated = not auto_migrate
        if auto_migrate:
            with contextlib.suppress(psycopg.OperationalError), self._connection():
                pass
        self._group: GroupCommit[Pending] = GroupCommit(self._write_group, name="amprelay-pg-writer")
        self.vacuum = UnitsVacuum(dsn, connect_timeout, vacuum_units)  # the units this queue deletes, vacuumed away

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
        me = _pending(units, dead, claims)
        if me is None:
            return []
        self._group.submit(me)
        return me.ids

    async def enqueue_with_dead_async(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                                      claims: MessageClaims | None = None) -> list[int]:
        me = _pending(units, dead, claims)
        if me is None:
            return []
        await self._group.submit_async(me)
        return me.ids

    def _write_group(self, group: list[Pending]) -> None:
        try:
            with self._connection() as c:
                try:
                    self._write_pipelined(c, group)
                except psycopg.errors.UniqueViolation:
                    # a message of the group was recorded before (or another relay's transaction
                    # was recording it): the claims' insert failed and took the transaction with
                    # it. Again, with claims that tell each message's fate (usually every one is
                    # new, so that is not paid for on every write)
                    self._route_ids.clear()
                    self._routes.clear()
                    self._write(c, group)
        except BaseException:
            self._route_ids.clear()
            self._routes.clear()
            for p in group:
                p.ids = []
            raise

    def _write_pipelined(self, c: psycopg.Connection, group: list[Pending]) -> None:
        """A group's transaction in one round trip, taking every message to be new: the claims
        and the units inserted from arrays (binary parameters), their statements pipelined with
        the transaction's start and commit. A group commit's round trips are what a relay's
        writer holds the shared connection for (and takes the GIL back after); a message recorded
        before raises ``UniqueViolation`` (the caller writes again with :meth:`_write`)."""
        now = time.time()
        plan = self._claims_plan(group)
        outcome = self._claims_outcome(group, None if plan is None else plan.everything)
        units = [u for _, kept, _ in outcome for u in kept]
        deads = [d for _, _, dead in outcome for d in dead]
        # the route ids first: a new route is written (and read back) outside the pipeline
        unit_rids = [self._route_id(c, u.route) for u in units]
        dead_rids = [self._route_id(c, u.route) for u, _ in deads]
        with c.pipeline():
            with c.transaction():
                if plan is not None:
                    if plan.prune:
                        c.execute(_PRUNE_DEDUPE, (plan.cutoff,))
                    c.execute("INSERT INTO amprelay_dedupe (key, message, seen_at) "
                              "SELECT k, m, %s FROM unnest(%b::bigint[], %b::bytea[]) AS t(k, m) ORDER BY k",
                              (plan.now, [k for k, _ in plan.rows], [m for _, m in plan.rows]))
                # ids drawn from the sequence in enqueue order (the rows are inserted in ORDER BY o)
                ids_cursor = c.execute(
                    "INSERT INTO amprelay_units (route_id, bucket, partition, message_id, entry, created_at) "
                    "SELECT r, b, p, m, e, ca FROM unnest(%b::bigint[], %b::int4[], %b::text[], %b::text[], "
                    "%b::bytea[], %b::float8[]) WITH ORDINALITY AS t(r, b, p, m, e, ca, o) ORDER BY o RETURNING id",
                    (unit_rids, [bucket_of(u.partition) for u in units], [u.partition for u in units],
                     [u.message_id for u in units], [u.entry for u in units], [u.created_at for u in units]),
                ) if units else None
                if deads:
                    self._insert_dead(c, now, dead_rids, deads)
            ids = sorted(r[0] for r in ids_cursor.fetchall()) if ids_cursor is not None else []
        if plan is not None and plan.prune:
            self._pruned_at = plan.now
        _apply_outcome(group, outcome)
        _assign_ids(group, ids)

    def _write(self, c: psycopg.Connection, group: list[Pending]) -> None:
        """A group's transaction with each message's fate asked of the dedupe table (one round
        trip per statement; the units copied in)."""
        # the arrays go as binary parameters (%b): PostgreSQL parses text arrays of bytea slowly
        with c.transaction():
            now = time.time()
            self._claim(c, group)
            self._copy_units(c, group)
            dead = [d for p in group for d in p.dead]
            if dead:
                self._insert_dead(c, now, [self._route_id(c, u.route) for u, _ in dead], dead)

    @staticmethod
    def _insert_dead(c: psycopg.Connection, now: float, rids: list[int], dead: list[tuple[NewUnit, str]]) -> None:
        c.execute(
            "INSERT INTO amprelay_dead_letters (unit_id, route_id, partition, message_id, entry, "
            "created_at, dead_at, attempts, reason) SELECT 0, r, p, m, e, ca, %s, 0, reason FROM "
            "unnest(%s::bigint[], %s::text[], %s::text[], %s::bytea[], %s::float8[], %s::text[]) "
            "AS t(r, p, m, e, ca, reason)",
            (now, rids, [u.partition for u, _ in dead], [u.message_id for u, _ in dead],
             [u.entry for u, _ in dead], [u.created_at for u, _ in dead], [reason for _, reason in dead]),
        )

    def _copy_units(self, c: psycopg.Connection, group: list[Pending]) -> None:
        """A group's units in one COPY (one write per page rather than per row), under ids drawn
        from the table's sequence in one query, in enqueue order."""
        units = [u for p in group for u in p.units]
        if not units:
            return
        rids = [self._route_id(c, u.route) for u in units]  # (no other statement while copying)
        ids = sorted(r[0] for r in c.execute(
            "SELECT nextval('amprelay_units_id_seq') FROM generate_series(1, %s)", (len(units),)).fetchall())
        with c.cursor().copy("COPY amprelay_units (id, route_id, bucket, partition, message_id, entry, created_at) "
                             "FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int8", "int4", "text", "text", "bytea", "float8"])
            for uid, rid, u in zip(ids, rids, units, strict=True):
                copy.write_row((uid, rid, bucket_of(u.partition), u.partition, u.message_id, u.entry, u.created_at))
        _assign_ids(group, ids)

    def _claims_plan(self, group: list[Pending]) -> _ClaimsPlan | None:
        """The dedupe rows a group's enqueues claim, in one order (of their keys, see
        :func:`dedupe_key`) for every relay (no deadlock between relays); None if it claims none.
        A pair whose key an earlier pair of this group has (a hash collision) is not recorded and
        counts as new (a collision never makes a message a duplicate)."""
        first: dict[tuple[str, str], tuple[float, float]] = {}  # pair -> (now, cutoff) of its first claim
        for p in group:
            claims = p.claims
            if claims is None:
                continue
            for pair in claims.units_of:
                first.setdefault(pair, (claims.now, claims.now - claims.window))
        if not first:
            return None
        now = max(n for n, _ in first.values())
        cutoff = min(cut for _, cut in first.values())  # one relay's claims share its window
        by_key: dict[int, tuple[tuple[str, str], bytes]] = {}
        unrecorded: set[tuple[str, str]] = set()
        for pair in first:
            key, message = dedupe_key(*pair)
            if by_key.setdefault(key, (pair, message))[0] != pair:
                unrecorded.add(pair)
        rows = sorted((k, m) for k, (_, m) in by_key.items())
        return _ClaimsPlan(now, cutoff, now - self._pruned_at >= DEDUPE_PRUNE_SECONDS, rows, by_key, unrecorded,
                           set(first))

    @staticmethod
    def _claims_outcome(group: list[Pending], claimed: set[tuple[str, str]] | None) -> list[_Outcome]:
        """Each enqueue's duplicates and the units and dead letters it stores, given the pairs
        ``claimed`` (None: no claims): a pair not claimed is a duplicate, and so is one an
        earlier enqueue of the same group claimed. Nothing of ``group`` is changed."""
        taken: set[tuple[str, str]] = set()
        outcome: list[_Outcome] = []
        for p in group:
            claims = p.claims
            if claims is None or claimed is None:
                outcome.append((set(), p.units, p.dead))
                continue
            duplicates = {q for q in claims.units_of if q not in claimed or q in taken}
            taken.update(claims.units_of)
            if not duplicates:
                outcome.append((duplicates, p.units, p.dead))
                continue
            skip_units = {i for q in duplicates for i in claims.units_of.get(q, ())}
            skip_dead = {i for q in duplicates for i in claims.dead_of.get(q, ())}
            outcome.append((duplicates, [u for i, u in enumerate(p.units) if i not in skip_units],
                            [d for i, d in enumerate(p.dead) if i not in skip_dead]))
        return outcome

    def _claim(self, c: psycopg.Connection, group: list[Pending]) -> None:
        """The dedupe claims of a group's enqueues, in one statement (see :meth:`_claims_plan`).
        An insert that conflicts with the same message seen within the window, or with one another
        relay's open transaction is inserting (it waits for that one), returns nothing: that
        message is a duplicate; so is a pair an earlier enqueue of the same group claimed."""
        plan = self._claims_plan(group)
        claimed: set[tuple[str, str]] | None = None
        if plan is not None:
            if plan.prune:
                c.execute(_PRUNE_DEDUPE, (plan.cutoff,))
                self._pruned_at = plan.now
            claimed = plan.unrecorded | {plan.by_key[k][0] for k in claim_keys(c, plan.rows, plan.now, plan.cutoff)}
        _apply_outcome(group, self._claims_outcome(group, claimed))

    # -- buckets and leases ---------------------------------------------------------------------

    def _worker(self, worker_id: str) -> WorkerState:
        """This queue's view of ``worker_id``: its buckets and the units it has leased."""
        w = self._workers.get(worker_id)
        if w is None:
            w = self._workers[worker_id] = WorkerState()
        return w

    def _claim_buckets(self, c: psycopg.Connection, worker_id: str, w: WorkerState, now: float) -> list[int]:
        """The buckets ``worker_id`` leases from at ``now``: those it owns, but for any it drains to
        give back. Ownership is renewed, and the live workers counted (for an even share), at most
        every ``_refresh_seconds``; in between, the buckets it renewed are its own (their leases
        run a whole ``bucket_lease_seconds``). A worker that owns none looks for some on every
        lease."""
        if w.owned and w.checked_at <= now < w.checked_at + self._refresh_seconds:
            return w.leasable
        until = now + self.bucket_lease_seconds
        epochs: dict[int, int] = dict(c.execute(
            "UPDATE amprelay_buckets SET lease_until = %s WHERE owner = %s AND lease_until >= %s "
            "RETURNING bucket, epoch", (until, worker_id, now)).fetchall())
        owned = list(epochs)
        c.execute("INSERT INTO amprelay_workers (worker_id, seen_at) VALUES (%s, %s) "
                  "ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at", (worker_id, now))
        live = one_row(c.execute("SELECT COUNT(*) FROM amprelay_workers WHERE worker_id <> %s AND seen_at >= %s",
                         (worker_id, now - self.bucket_lease_seconds)))[0] + 1
        target = math.ceil(BUCKETS / live)
        if len(owned) < target:
            # a bucket changing hands gets a new epoch (its former owner's settlements are stale;
            # the units it had in flight are ours to send now); one whose lease this worker let
            # lapse, with no one taking it meanwhile, keeps its epoch
            claimed: dict[int, int] = dict(c.execute(
                "UPDATE amprelay_buckets SET owner = %s, lease_until = %s, "
                "epoch = CASE WHEN owner IS NOT DISTINCT FROM %s THEN epoch ELSE epoch + 1 END WHERE bucket IN ("
                " SELECT bucket FROM amprelay_buckets WHERE (owner IS NULL OR lease_until < %s) AND "
                " (owner IS DISTINCT FROM %s OR lease_until < %s) ORDER BY bucket LIMIT %s FOR UPDATE SKIP LOCKED"
                ") RETURNING bucket, epoch",
                (worker_id, until, worker_id, now, worker_id, now, target - len(owned))).fetchall())
            epochs.update(claimed)
            owned += list(claimed)
        draining: set[int] = set()
        if len(owned) > target:
            # give back surplus buckets, so a new worker gets its share: those with nothing in
            # flight now; if too few are (under load every bucket has units in flight), the
            # highest-numbered others are drained: no new lease there, given back once their units
            # in flight are settled (the new owner then sends their later units, in order)
            busy = {held.bucket for held in w.leases.values()}
            surplus = len(owned) - target
            idle = [b for b in sorted(owned, reverse=True) if b not in busy][:surplus]
            if idle:
                c.execute("UPDATE amprelay_buckets SET owner = NULL, lease_until = 0 "
                          "WHERE bucket = ANY(%s) AND owner = %s", (idle, worker_id))
                owned = [b for b in owned if b not in idle]
            draining = set(sorted(busy & set(owned), reverse=True)[: surplus - len(idle)])
        w.owned, w.checked_at = sorted(owned), now
        w.leasable = [b for b in w.owned if b not in draining]
        w.epochs = {b: epochs[b] for b in owned}
        # an expired lease in a bucket no longer ours cannot settle any more (its epoch is gone)
        w.expired = {uid: held for uid, held in w.expired.items() if held.bucket in w.epochs}
        return w.leasable

    def lease(self, worker_id: str, max_units: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        """Pipelined: the statements go out together as far as one does not need another's answer
        (PostgreSQL's CPU per round trip is what several relays share): the scan, which reads the
        units whole, with what it needs, then the commit; the buckets' renewal, every
        quarter of a second, before them."""
        now = time.time() if now is None else now
        until = now + lease_seconds
        w: WorkerState | None = None
        try:
            with self._connection() as c, c.pipeline():
                with c.transaction():
                    w = self._worker(worker_id)
                    picked = self._lease(c, worker_id, w, max_units, until, now)
                token = next(self._tokens)
                chosen = [Lease(uid, self._route(c, rid), bytes(entry), part, mid, created, attempts, err, token)
                          for uid, rid, part, attempts, mid, entry, created, err in picked]
        except BaseException:
            if w is not None:  # what was renewed or claimed may have been rolled back
                w.checked_at, w.clean_upto = -math.inf, 0
            raise
        for u in chosen:  # recorded once the transaction committed
            bucket = bucket_of(u.partition)
            w.leases[u.id] = InFlight(u.partition, until, u.token, w.epochs[bucket], bucket)
            w.expired.pop(u.id, None)
        return chosen

    def _lease(self, c: psycopg.Connection, worker_id: str, w: WorkerState, max_units: int, until: float,
               now: float) -> list[Sequence[Any]]:
        """The units to lease: rows of the window, whole."""
        owned = self._claim_buckets(c, worker_id, w, now)
        if not owned or max_units <= 0:
            return []
        # partitions with a unit in flight (leased by this worker: what other workers had in
        # flight in these buckets is ours since we took them over) or waiting for a retry send
        # nothing now; the rest are scanned in enqueue order within a window, so a throttled
        # backlog hides no one. An expired lease is leased again.
        expired = [uid for uid, held in w.leases.items() if held.until < now]
        for uid in expired:
            w.expired[uid] = w.leases.pop(uid)
        blocked = list({held.partition for held in w.leases.values()})
        # After a scan, nothing is ready up to a point (all of it if it leased every ready unit it
        # read, else up to the first one it left) until something unblocks a partition: a
        # settlement (from the lowest unit it settles on), an expired lease, a retry coming due,
        # other buckets. Each lease then reads only the units from there on (not the units in
        # flight again and again), and the whole window at least once a second (a unit whose id
        # was drawn before the last scan but committed after it).
        if (expired or owned != w.clean_owned or now >= w.clean_due or not w.clean_at <= now < w.clean_at + 1.0):
            w.clean_upto = 0
        after = w.clean_upto
        # the retries coming due (the next scan's deadline); the partitions waiting for one are
        # left out by the scan itself (a subquery, hashed once per scan)
        due_cursor = c.execute("SELECT MIN(not_before) FROM amprelay_units WHERE not_before > 0 AND "
                               "bucket = ANY(%s::int[]) AND not_before > %s", (owned, now))
        top_cursor = c.execute("SELECT COALESCE(MAX(id), 0) FROM amprelay_units")
        # Not prepared: planned with its arrays as constants, "NOT partition = ANY" is a hash lookup.
        # Always along the primary key, in id order, stopping at the window's end: not by a
        # sequential or bitmap scan and a sort (what the planner picks for a table it has no
        # statistics of yet), which would read every unit, and every settled (deleted) unit not
        # yet vacuumed away, on every lease; an index scan marks their entries dead once.
        c.execute("SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)")
        window = max(SCAN_WINDOW, 2 * max_units)
        # read in chunks, the first of the units asked for (at least 256): usually it is the lease
        # (its entries read with it, not by a second query); more, each twice the last, are read
        # only while partitions left out (another route's turn, a retried partition's smaller
        # runs) keep it from filling, up to the window
        chunk = min(window, max(256, max_units))
        rows = self._scan(c, owned, after, now, blocked, chunk)
        exhausted = len(rows) < chunk
        picked = pick_runs(rows, max_units)
        while len(picked) < max_units and not exhausted and len(rows) < window:
            chunk *= 2
            ask = min(chunk, window - len(rows))
            more = self._scan(c, owned, rows[-1][0], now, blocked, ask)
            exhausted = len(more) < ask
            rows += more
            picked = pick_runs(rows, max_units)
        due = one_row(due_cursor)[0]
        top = one_row(top_cursor)[0]
        if not after:
            w.clean_at, w.clean_owned = now, owned
        w.clean_due = math.inf if due is None else due
        if not rows:
            w.clean_upto = w.seen_top = top
            return []
        # the first ready unit not leased now (picked is an ordered subsequence of rows); and no
        # further than the newest unit the previous lease saw: an id drawn before this scan may
        # be committed (by another relay) just after it, and is read again on the next lease
        n = next((i for i, r in enumerate(picked) if r is not rows[i]), len(picked))
        upto = rows[n][0] - 1 if n < len(rows) else top if exhausted else rows[-1][0]
        w.clean_upto, w.seen_top = min(upto, w.seen_top), top
        return picked

    @staticmethod
    def _scan(c: psycopg.Connection, owned: list[int], after: int, now: float, blocked: list[str],
              limit: int) -> list[Any]:
        """Up to ``limit`` ready units after ``after`` in the ``owned`` buckets, in id order, of
        partitions neither ``blocked`` nor waiting for a retry (``bucket = ANY`` of an int array:
        a hash lookup, as for the partitions); binary: the entries as they are, not hex."""
        return c.execute(
            "SELECT id, route_id, partition, attempts, message_id, entry, created_at, last_error "
            "FROM amprelay_units WHERE bucket = ANY(%s::int[]) AND id > %s AND not_before <= %s "
            "AND NOT (partition = ANY(%s)) AND partition NOT IN (SELECT partition FROM amprelay_units "
            "WHERE not_before > 0 AND bucket = ANY(%s::int[]) AND not_before > %s) ORDER BY id LIMIT %s",
            (owned, after, now, blocked, owned, now, limit), prepare=False, binary=True).fetchall()

    def release(self, worker_id: str) -> int:
        """Give up ``worker_id``'s buckets; the units it leased here are ready again (their
        settlements, if any come, are stale)."""
        with self._connection() as c, c.transaction():
            c.execute("UPDATE amprelay_buckets SET owner = NULL, lease_until = 0 WHERE owner = %s", (worker_id,))
            c.execute("DELETE FROM amprelay_workers WHERE worker_id = %s", (worker_id,))
        w = self._workers.pop(worker_id, None)
        return len(w.leases) if w is not None else 0

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
        """One statement per kind of outcome, for the units whose settlement holds: unfenced (no
        token), or fenced by this worker's latest lease of the unit (in memory) while its bucket
        still has that lease's epoch. The buckets' rows are locked (``FOR SHARE``) for that check:
        a worker taking one over waits until this commits, or has taken it and bumped the epoch
        first. The rows are found by one range scan of the primary key between the lowest and the
        highest id (joined with the ids), not by one index descent per id."""
        settled = [*acks, *(r.id for r in retries), *(d[0] for d in deads)]
        held: dict[int, tuple[WorkerState, InFlight]] = {}  # fenced unit -> its lease, if this is its latest
        for uid in settled:
            tok = tokens.get(uid)
            if tok is None:
                continue
            for w in self._workers.values():
                h = w.holder(uid, tok)
                if h is not None:
                    held[uid] = (w, h)
                    break
        # only buckets this worker still owns under the lease's epoch, as last renewed, are checked
        check = {uid: h.bucket for uid, (w, h) in held.items() if w.epochs.get(h.bucket) == h.epoch}
        # pipelined: the buckets' check with the transaction's start, then the statements with
        # the commit (their answers read after it, in the same round trip)
        with self._connection() as c, c.pipeline():
            with c.transaction():
                epochs: dict[int, int] = dict(c.execute(
                    "SELECT bucket, epoch FROM amprelay_buckets WHERE bucket = ANY(%s) ORDER BY bucket FOR SHARE",
                    (sorted(set(check.values())),)).fetchall()) if check else {}

                def holds(uid: int) -> bool:
                    if tokens.get(uid) is None:
                        return True
                    return uid in check and epochs.get(check[uid]) == held[uid][1].epoch

                cursors = self._settlements(c, [i for i in acks if holds(i)], [r for r in retries if holds(r.id)],
                                            [d for d in deads if holds(d[0])], now)
            done = {r[0] for cur in cursors for r in cur.fetchall()}
            self.vacuum.deleted_units(sum(1 for i in acks if i in done) + sum(1 for d in deads if d[0] in done))
        # settled or stale, a lease these settle is over (a later lease of the unit stays in flight)
        for uid in settled:
            if uid in held:
                held[uid][0].forget(uid)
            elif tokens.get(uid) is None:
                for w in self._workers.values():
                    w.forget(uid)
        if settled:  # their partitions may have more to send, from the lowest of them on
            lowest = min(settled) - 1
            for w in self._workers.values():
                w.clean_upto = min(w.clean_upto, lowest)
        stale = [i for i in settled if tokens.get(i) is not None and i not in done]
        self.stale_settlements += len(stale)
        return stale

    @staticmethod
    def _settlements(c: psycopg.Connection, acks: list[int], retries: list[RetryItem],
                     deads: list[tuple[int, str]], now: float) -> list[psycopg.Cursor]:
        """One statement per kind of outcome, sent (answered with the commit): their rows are the
        ids settled."""
        cursors: list[psycopg.Cursor] = []
        if acks:
            cursors.append(c.execute(
                "DELETE FROM amprelay_units u USING unnest(%b::bigint[]) AS t(id) "
                "WHERE u.id BETWEEN %s AND %s AND u.id = t.id RETURNING u.id", (acks, min(acks), max(acks))))
        if retries:
            cursors.append(c.execute(
                "UPDATE amprelay_units u SET not_before = t.nb, last_error = COALESCE(t.err, u.last_error), "
                "attempts = u.attempts + t.inc "
                "FROM unnest(%s::bigint[], %s::float8[], %s::text[], %s::int[]) AS t(id, nb, err, inc) "
                "WHERE u.id BETWEEN %s AND %s AND u.id = t.id RETURNING u.id",
                ([r.id for r in retries], [max(r.not_before, 0.0) for r in retries], [r.error for r in retries],
                 [1 if r.count_attempt else 0 for r in retries], min(r.id for r in retries),
                 max(r.id for r in retries))))
        if deads:
            cursors.append(c.execute(
                "WITH gone AS (DELETE FROM amprelay_units u USING unnest(%s::bigint[], %s::text[]) "
                "AS t(id, reason) WHERE u.id BETWEEN %s AND %s AND u.id = t.id RETURNING u.*, t.reason) "
                "INSERT INTO amprelay_dead_letters (unit_id, route_id, partition, message_id, entry, created_at, "
                "dead_at, attempts, reason) SELECT id, route_id, partition, message_id, entry, created_at, %s, "
                "attempts + 1, reason FROM gone RETURNING unit_id",
                ([d[0] for d in deads], [d[1] for d in deads], min(d[0] for d in deads),
                 max(d[0] for d in deads), now)))
        return cursors

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
            return pg_deadletters.stats(c, time.time() if now is None else now,
                                        sum(len(w.leases) for w in self._workers.values()))

    def close(self) -> None:
        self._group.close()
        self.vacuum.close()
        with self._lock:
            if self._conn is not None and not self._conn.closed:
                self._conn.close()
            self._conn = None


_PRUNE_DEDUPE = "DELETE FROM amprelay_dedupe WHERE seen_at < %s"

_Outcome = tuple[set[tuple[str, str]], Sequence[NewUnit], Sequence[tuple[NewUnit, str]]]


def _pending(units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
             claims: MessageClaims | None) -> Pending | None:
    """An enqueue's work for the group commit; None when it has nothing to write."""
    if not units and not dead and not (claims and claims.units_of):
        return None
    return Pending(units, dead, claims if claims and claims.units_of else None)


def _apply_outcome(group: list[Pending], outcome: list[_Outcome]) -> None:
    """Each enqueue's duplicates told, and the units and dead letters it stored kept."""
    for p, (duplicates, kept, dead) in zip(group, outcome, strict=True):
        if p.claims is not None:
            p.claims.duplicates = duplicates
        p.units, p.dead = kept, dead


def _assign_ids(group: list[Pending], ids: list[int]) -> None:
    """The ids drawn for a group's units (in enqueue order), to their enqueues."""
    start = 0
    for p in group:
        p.ids, start = ids[start:start + len(p.units)], start + len(p.units)


class _ClaimsPlan(NamedTuple):
    now: float
    cutoff: float
    prune: bool  # expired messageIds are due to be deleted
    rows: list[tuple[int, bytes]]  # (key, message), in key order
    by_key: dict[int, tuple[tuple[str, str], bytes]]
    unrecorded: set[tuple[str, str]]  # pairs whose key another pair of the group has
    everything: set[tuple[str, str]]  # every pair claimed


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
