"""The embedded queue: one SQLite file in WAL mode (the default backend).

Durability: :meth:`SQLiteQueue.enqueue` commits with ``PRAGMA synchronous=FULL``, so the WAL is
fsync'd before it returns. Concurrent callers are merged into one transaction (group commit),
so many small enqueues cost one fsync. Leases, acks, retries and dead-lettering commit with
``synchronous=NORMAL``: they survive a crash of the process (the WAL is written before the
commit returns) and only a power loss can undo them, which at worst resends a unit that
Amplitude then deduplicates by ``insert_id``.

One process owns the file for delivery; other processes (``amprelay dlq``) may open it at the
same time for the dead-letter commands. Leases live in that process's memory (the file only
changes when units are settled): a crash releases them all, and leasing reads through a second
connection, so it never waits for an enqueue's fsync. Each lease has a token; a settlement
carrying an older token than the unit's latest lease (its lease expired and another took the
unit) is dropped and counted (:attr:`SQLiteQueue.stale_settlements`).

The file's schema, pragmas and group commit belong to :mod:`amprelay.store.sqlitedb`.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

import orjson

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
from amprelay.store.sqlitedb import SQLiteDatabase, Write, shard_consumed

# A lease looks at this many eligible rows at most (or 4x the units asked for), so its cost does
# not grow with the backlog.
SCAN_WINDOW = 10_000


class SQLiteQueue(SettleShortcuts):
    """:class:`amprelay.store.base.Queue` on the store's SQLite file (a path: a database of its
    own, closed with the queue; a :class:`SQLiteDatabase`: shared with the inbox and sessions)."""

    def __init__(self, db: SQLiteDatabase | str | os.PathLike[str], shared: bool = False):
        self._owns_db = not isinstance(db, SQLiteDatabase)
        self.db: SQLiteDatabase = db if isinstance(db, SQLiteDatabase) else SQLiteDatabase(db, shared=shared)
        self.path = self.db.path
        self._conn = self.db.conn
        self._lock = self.db.lock
        self._route_ids: dict[str, int] = {}
        self._routes: dict[int, UnitRoute] = {}
        self._lease_lock = threading.Lock()
        self._slock = threading.Lock()
        self._sconn: sqlite3.Connection | None = None
        self._leases: dict[int, tuple[str, float, str]] = {}  # unit id -> (worker, until, partition)
        self._tokens: dict[int, int] = {}  # unit id -> token of its latest lease (the fence)
        self._next_token = 0
        # every unit up to _clean_upto was leased or blocked at the last scans (0: no such scan
        # holds); it holds while no partition unblocks: until a settlement, a release, an expired
        # lease, a retry coming due (_clean_due) or a second after the first such scan (_clean_at)
        self._clean_upto = 0
        self._clean_at = -math.inf
        self._clean_due = math.inf
        self.stale_settlements = 0
        self._rconn, self._rlock = self.db.reader()
        self._api_keys: ApiKeys | None = None
        self._pruned_at = 0.0

    def set_api_keys(self, api_keys: ApiKeys | None) -> None:
        with self._lock:
            self._api_keys = api_keys
            self._routes.clear()
            self._route_ids.clear()

    @property
    def leased_count(self) -> int:
        """Units leased by this process now."""
        return len(self._leases)

    @property
    def write_error(self) -> str | None:
        return self.db.write_error

    # -- helpers -------------------------------------------------------------------------

    def _route_id(self, route: UnitRoute) -> int:
        key = route.key()
        rid = self._route_ids.get(key)
        if rid is None:
            c = self._conn
            stored = route_at_rest(route).key()  # no API key at rest
            c.execute("INSERT OR IGNORE INTO routes(key, destination, kind) VALUES (?, ?, ?)",
                      (stored, route.destination, route.kind))
            rid = c.execute("SELECT id FROM routes WHERE key = ?", (stored,)).fetchone()[0]
            self._route_ids[key] = rid
            self._routes[rid] = route
        return rid

    def _route(self, rid: int) -> UnitRoute:
        route = self._routes.get(rid)
        if route is None:
            key = self._conn.execute("SELECT key FROM routes WHERE id = ?", (rid,)).fetchone()[0]
            route = route_resolved(UnitRoute.from_key(key), self._api_keys)
            self._routes[rid] = route
            self._route_ids[route.key()] = rid
        return route

    # -- enqueue (group commit) -------------------------------------------------------------

    def enqueue(self, units: Sequence[NewUnit]) -> list[int]:
        return self.enqueue_with_dead(units, ())

    def enqueue_with_dead(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                          consumed: InboxReceipt | None = None, claims: MessageClaims | None = None) -> list[int]:
        """Enqueue ``units``, store ``dead`` letters, remove the ``consumed`` inbox messages and
        apply the dedupe ``claims`` in one durable transaction (shared with concurrent writers:
        group commit)."""
        if not units and not dead and consumed is None and not (claims and claims.units_of):
            return []
        ids: list[int] = []
        try:
            self.db.group.submit(self._enqueue_write(units, dead, consumed, claims, ids))
        except BaseException:
            self._route_ids.clear()
            self._routes.clear()
            raise
        return ids

    async def enqueue_with_dead_async(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                                      claims: MessageClaims | None = None) -> list[int]:
        if not units and not dead and not (claims and claims.units_of):
            return []
        ids: list[int] = []
        try:
            await self.db.group.submit_async(self._enqueue_write(units, dead, None, claims, ids))
        except BaseException:
            self._route_ids.clear()
            self._routes.clear()
            raise
        return ids

    def _enqueue_write(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                       consumed: InboxReceipt | None, claims: MessageClaims | None, ids: list[int]) -> Write:
        """An enqueue's part of a group transaction; the ids of the units stored go to ``ids``."""

        def write(c: sqlite3.Connection) -> None:
            try:
                stored, dead_stored = units, dead
                if claims is not None and claims.units_of:
                    stored, dead_stored = self._claim(c, claims, units, dead)
                self._write_enqueue(c, stored, dead_stored, consumed, ids)
            except BaseException:
                self._route_ids.clear()  # a rolled-back route insert must not stay cached
                self._routes.clear()
                raise

        return write

    def _claim(self, c: sqlite3.Connection, claims: MessageClaims, units: Sequence[NewUnit],
               dead: Sequence[tuple[NewUnit, str]]) -> tuple[Sequence[NewUnit], Sequence[tuple[NewUnit, str]]]:
        cutoff = claims.now - claims.window
        if claims.now - self._pruned_at >= DEDUPE_PRUNE_SECONDS:
            c.execute("DELETE FROM dedupe WHERE seen_at < ?", (cutoff,))
            self._pruned_at = claims.now
        pairs = list(claims.units_of)
        claimed = {(s, m) for s, m in c.execute(
            "INSERT INTO dedupe (source, message_id, seen_at) SELECT value ->> 0, value ->> 1, ? FROM json_each(?) "
            "WHERE true ON CONFLICT (source, message_id) DO UPDATE SET seen_at = excluded.seen_at "
            "WHERE dedupe.seen_at < ? RETURNING source, message_id",
            (claims.now, orjson.dumps(pairs), cutoff))}
        claims.duplicates = {p for p in pairs if p not in claimed}
        if not claims.duplicates:
            return units, dead
        skip_units, skip_dead = claims.skipped()
        return ([u for i, u in enumerate(units) if i not in skip_units],
                [d for i, d in enumerate(dead) if i not in skip_dead])

    def _write_enqueue(self, c: sqlite3.Connection, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                       consumed: InboxReceipt | None, ids: list[int]) -> None:
        if units:
            rows = [(self._route_id(u.route), u.partition, u.message_id, u.entry, u.created_at) for u in units]
            first = c.execute("SELECT seq FROM sqlite_sequence WHERE name='units'").fetchone()
            c.executemany(
                "INSERT INTO units(route_id, partition, message_id, entry, created_at) VALUES (?,?,?,?,?)", rows)
            start = (first[0] if first else 0) + 1
            ids.extend(range(start, start + len(rows)))
        if dead:
            now = time.time()
            c.executemany(
                "INSERT INTO dead_letters(unit_id, route_id, partition, message_id, entry, created_at, "
                "dead_at, attempts, reason) VALUES (0, ?, ?, ?, ?, ?, ?, 0, ?)",
                [(self._route_id(u.route), u.partition, u.message_id, u.entry, u.created_at, now, reason)
                 for u, reason in dead],
            )
        if consumed is not None:
            if consumed.shard is None:
                c.execute("DELETE FROM inbox WHERE id <= ?", (consumed.last_id,))
            else:
                shard_consumed(c, consumed.shard, consumed.last_id)

    # -- leasing ----------------------------------------------------------------------------

    def lease(self, worker_id: str, max_units: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        now = time.time() if now is None else now
        with self._lease_lock, self._rlock:
            leases = self._leases
            expired = [i for i, (_, until, _) in leases.items() if until < now]
            for i in expired:
                del leases[i]
            self._next_token += 1
            token = self._next_token
            blocked = {part for _, _, part in leases.values()}
            c = self._rconn
            waiting = c.execute("SELECT partition, MIN(not_before) FROM units WHERE not_before > 0 AND not_before > ? "
                                "GROUP BY partition", (now,)).fetchall()
            blocked.update(r[0] for r in waiting)
            if expired or now >= self._clean_due or not self._clean_at <= now < self._clean_at + 1.0:
                self._clean_upto = 0
            after = self._clean_upto
            top = c.execute("SELECT COALESCE(MAX(id), 0) FROM units").fetchone()[0]
            window = max(SCAN_WINDOW, 2 * max_units)
            # Only rows of partitions with nothing leased or waiting are scanned, in enqueue order,
            # within a window: a throttled user's backlog never hides the others' units. Rows up to
            # _clean_upto are skipped: their partitions are still leased or waiting (only newer
            # rows can be ready), so a backlog behind units in flight is not read again and again.
            # read lazily: rows past the one that fills the lease are not read at all
            cur = c.execute(
                "SELECT id, route_id, partition, attempts FROM units WHERE id > ? AND not_before <= ? "
                "AND partition NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?",
                (after, now, orjson.dumps(list(blocked)), window),
            )
            rows: list = []
            try:
                picked = [(r[0], r[1], r[2]) for r in pick_runs(_recorded(cur, rows), max_units)]
            finally:
                cur.close()  # ends the statement (and its read of the file) where it stopped
            read_all = len(rows) < window and len(picked) < max_units
            chosen: list[Lease] = []
            if picked:
                details = {
                    r[0]: r for r in c.execute(
                        "SELECT id, message_id, entry, created_at, attempts, last_error FROM units "
                        "WHERE id IN (SELECT value FROM json_each(?))", (orjson.dumps([p[0] for p in picked]),))
                }
                until = now + lease_seconds
                for uid, rid, part in picked:
                    row = details.get(uid)
                    if row is None:  # settled meanwhile by another process (dlq purge/retry)
                        continue
                    _, mid, entry, created, attempts, err = row
                    chosen.append(Lease(uid, self._route_cached(rid), entry, part, mid, created, attempts, err,
                                        token))
                    leases[uid] = (worker_id, until, part)
                    self._tokens[uid] = token
            self._note_clean(rows, {u.partition for u in chosen}, top if read_all else 0, now,
                             min((r[1] for r in waiting), default=math.inf))
        return chosen

    def _note_clean(self, rows: list, taken: set[str], top: int, now: float, due: float) -> None:
        """After a scan (``rows``, of which the partitions ``taken`` are now leased): every row up
        to the first one of another partition (left for a later lease) is leased or blocked; when
        there is none, every row up to where the scan read (``top``, 0 when it stopped before the
        end, at its window or a full lease: nothing is known past its last row)."""
        upto = next((r[0] - 1 for r in rows if r[2] not in taken), None)
        if upto is None:
            upto = max(rows[-1][0], top) if rows else top
        # the earliest retry waiting now, whenever it was settled (as PostgreSQL's queue does):
        # one settled after the range began may lie in it by now
        self._clean_due = due
        if upto <= self._clean_upto:
            return
        if not self._clean_upto:
            self._clean_at = now
        self._clean_upto = upto

    def _route_cached(self, rid: int) -> UnitRoute:
        route = self._routes.get(rid)
        if route is None:
            with self._lock:
                route = self._route(rid)
        return route

    def release(self, worker_id: str) -> int:
        with self._lease_lock:
            mine = [i for i, (w, _, _) in self._leases.items() if w == worker_id]
            for i in mine:
                del self._leases[i]
            self._clean_upto = 0
            return len(mine)

    def _unlease(self, ids: Sequence[int], gone: Iterable[int]) -> None:
        with self._lease_lock:
            # their partitions may have more to send, in rows after these units (a lease takes a
            # partition's leading units), so only the scan from the oldest of them on is undone
            if ids:
                self._clean_upto = min(self._clean_upto, min(ids) - 1)
            pop_lease = self._leases.pop
            for i in ids:
                pop_lease(i, None)
            pop_token = self._tokens.pop  # units no longer in the queue need no fence
            for i in gone:
                pop_token(i, None)

    def _fence(self, tokens: Mapping[int, int] | None, acks: list, retries: list, deads: list) -> list[int]:
        """Drop the settlements of units leased again since their lease (returns their ids)."""
        if tokens is None:
            return []
        with self._lease_lock:
            latest = self._tokens

            def stale(uid: int) -> bool:
                t = tokens.get(uid)  # stale: leased again since, or settled already
                return t is not None and latest.get(uid) != t

            out = [a for (a,) in acks if stale(a)] + [r[3] for r in retries if stale(r[3])] + \
                [d[0] for d in deads if stale(d[0])]
        if out:
            bad = set(out)
            acks[:] = [a for a in acks if a[0] not in bad]
            retries[:] = [r for r in retries if r[3] not in bad]
            deads[:] = [d for d in deads if d[0] not in bad]
            self.stale_settlements += len(out)
        return out

    def settle(self, ack: Iterable[int] = (), retry: Iterable[RetryItem] = (),
               dead: Iterable[tuple[int, str]] = (), now: float | None = None,
               tokens: Mapping[int, int] | None = None) -> list[int]:
        now = time.time() if now is None else now
        acks = [(i,) for i in ack]
        retries = [(max(it.not_before, 0.0), it.error, 1 if it.count_attempt else 0, it.id) for it in retry]
        deads = list(dead)
        if not (acks or retries or deads):
            return []
        stale = self._fence(tokens, acks, retries, deads)
        if acks or retries or deads:
            # on failure the units stay leased: the caller settles them again, nobody resends them
            self._settle(acks, retries, deads, now)
            gone = [a for (a,) in acks] + [d[0] for d in deads]
            self._unlease(gone + [r[3] for r in retries], gone)
        return stale

    def _settle(self, acks: list, retries: list, deads: list, now: float) -> None:
        with self.db.txn("NORMAL"):
            c = self._conn
            if acks:
                c.execute("DELETE FROM units WHERE id IN (SELECT value FROM json_each(?))",
                          (orjson.dumps([a for (a,) in acks]),))
            if retries:
                c.executemany(
                    "UPDATE units SET not_before = ?, "
                    "last_error = COALESCE(?, last_error), attempts = attempts + ? WHERE id = ?",
                    retries,
                )
            if deads:
                c.executemany(
                    "INSERT INTO dead_letters(unit_id, route_id, partition, message_id, entry, created_at, dead_at, "
                    "attempts, reason) SELECT id, route_id, partition, message_id, entry, created_at, ?, attempts + 1, ? "
                    "FROM units WHERE id = ?",
                    [(now, reason, uid) for uid, reason in deads],
                )
                c.executemany("DELETE FROM units WHERE id = ?", [(uid,) for uid, _ in deads])

    # -- dead letters ---------------------------------------------------------------------------

    @staticmethod
    def _where(flt: DeadLetterFilter) -> tuple[str, list]:
        terms, args = flt.sql_terms("?", "instr")
        if flt.ids is not None:
            terms.append(f"d.id IN ({','.join('?' * len(flt.ids))})" if flt.ids else "0")
            args.extend(flt.ids)
        return (" WHERE " + " AND ".join(terms)) if terms else "", args

    def list_dead(self, flt: DeadLetterFilter = DeadLetterFilter(), limit: int = 100,
                  offset: int = 0) -> list[DeadLetter]:
        where, args = self._where(flt)
        with self._lock:
            rows = self._conn.execute(
                "SELECT d.id, d.route_id, d.entry, d.partition, d.message_id, d.created_at, d.dead_at, d.attempts, "
                f"d.reason FROM dead_letters d JOIN routes r ON r.id = d.route_id{where} ORDER BY d.id "
                "LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            return [DeadLetter(i, self._route(rid), e, p, m, ca, da, a, reason)
                    for i, rid, e, p, m, ca, da, a, reason in rows]

    def count_dead(self, flt: DeadLetterFilter = DeadLetterFilter()) -> int:
        where, args = self._where(flt)
        with self._lock:
            return self._conn.execute(
                f"SELECT COUNT(*) FROM dead_letters d JOIN routes r ON r.id = d.route_id{where}", args
            ).fetchone()[0]

    def requeue_dead(self, flt: DeadLetterFilter = DeadLetterFilter(), now: float | None = None) -> int:
        now = time.time() if now is None else now
        where, args = self._where(flt)
        with self.db.txn("FULL"):
            c = self._conn
            where = (where + " AND " if where else " WHERE ") + "r.kind != 'rejected'"
            ids = [r[0] for r in c.execute(
                f"SELECT d.id FROM dead_letters d JOIN routes r ON r.id = d.route_id{where} ORDER BY d.unit_id, d.id",
                args)]
            c.executemany(
                "INSERT INTO units(route_id, partition, message_id, entry, created_at) "
                "SELECT route_id, partition, message_id, entry, ? FROM dead_letters WHERE id = ?",
                [(now, i) for i in ids],
            )
            c.executemany("DELETE FROM dead_letters WHERE id = ?", [(i,) for i in ids])
            return len(ids)

    def purge_dead(self, flt: DeadLetterFilter = DeadLetterFilter()) -> int:
        where, args = self._where(flt)
        with self.db.txn("NORMAL"):
            cur = self._conn.execute(
                f"DELETE FROM dead_letters WHERE id IN (SELECT d.id FROM dead_letters d "
                f"JOIN routes r ON r.id = d.route_id{where})",
                args,
            )
            return cur.rowcount

    def size_bytes(self) -> int:
        with self._lock:
            c = self._conn
            pages = c.execute("PRAGMA page_count").fetchone()[0] - c.execute("PRAGMA freelist_count").fetchone()[0]
            size = pages * c.execute("PRAGMA page_size").fetchone()[0]
        try:
            size += os.path.getsize(self.path + "-wal")
        except OSError:
            pass
        return size

    # -- stats ------------------------------------------------------------------------------

    def stats(self, now: float | None = None) -> QueueStats:
        """Counts read through their own connection: a scrape never holds up ingest or leasing."""
        now = time.time() if now is None else now
        with self._slock:
            if self._sconn is None:
                if self.path == ":memory:":
                    self._sconn = self._conn
                else:
                    self._sconn, _ = self.db.reader()
            c = self._sconn
            if c is self._conn:
                self._lock.acquire()
            try:
                return self._stats(c, now)
            finally:
                if c is self._conn:
                    self._lock.release()

    def _stats(self, c: sqlite3.Connection, now: float) -> QueueStats:
        by_route = c.execute("SELECT route_id, COUNT(*) FROM units GROUP BY route_id").fetchall()
        s = QueueStats()
        for rid, n in by_route:
            dest = self._route_cached(rid).destination
            s.depth_by_destination[dest] = s.depth_by_destination.get(dest, 0) + n
            s.depth += n
        s.leased = len(self._leases)
        s.waiting = c.execute(
            "SELECT COUNT(*) FROM units WHERE not_before > 0 AND not_before > ?", (now,)).fetchone()[0]
        row = c.execute("SELECT created_at FROM units ORDER BY id LIMIT 1").fetchone()
        s.oldest_created_at = row[0] if row else None
        for dest, n in c.execute(
            "SELECT r.destination, COUNT(*) FROM dead_letters d JOIN routes r ON r.id = d.route_id "
            "GROUP BY r.destination"
        ):
            s.dead_by_destination[dest] = n
            s.dead_letters += n
        return s

    def close(self) -> None:
        with self._slock:
            if self._sconn is not None and self._sconn is not self._conn:
                self._sconn.close()
            self._sconn = None
        if self._rconn is not self._conn:
            with self._rlock:
                self._rconn.close()
        if self._owns_db:
            self.db.close()


def _recorded(rows: Iterable[tuple], into: list) -> Iterator[tuple]:
    """``rows``, each appended to ``into`` as it is read."""
    for r in rows:
        into.append(r)
        yield r
