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
connection, so it never waits for an enqueue's fsync.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

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

SCHEMA = """
CREATE TABLE IF NOT EXISTS routes (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    route_id INTEGER NOT NULL,
    partition TEXT NOT NULL,
    message_id TEXT NOT NULL,
    entry BLOB NOT NULL,
    created_at REAL NOT NULL,
    not_before REAL NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
DROP INDEX IF EXISTS units_waiting;
CREATE INDEX IF NOT EXISTS units_due ON units(not_before, partition) WHERE not_before > 0;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id INTEGER NOT NULL,
    route_id INTEGER NOT NULL,
    partition TEXT NOT NULL,
    message_id TEXT NOT NULL,
    entry BLOB NOT NULL,
    created_at REAL NOT NULL,
    dead_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_dead_at ON dead_letters(dead_at);
"""

# A lease looks at this many eligible rows at most (or 4x the units asked for), so its cost does
# not grow with the backlog.
SCAN_WINDOW = 10_000


class _PendingEnqueue:
    __slots__ = ("units", "dead", "also", "ids")

    def __init__(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]] = (),
                 also: Sequence[tuple[str, tuple]] = ()):
        self.units = units
        self.dead = dead
        self.also = also
        self.ids: list[int] = []


class SQLiteQueue:
    """:class:`amprelay.queue.base.Queue` on a SQLite file."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._lock = threading.RLock()
        self._group: GroupCommit[_PendingEnqueue] = GroupCommit(self._write_group)
        self._route_ids: dict[str, int] = {}
        self._routes: dict[int, Route] = {}
        self._sync = ""
        self._lease_lock = threading.Lock()
        self._slock = threading.Lock()
        self._sconn: sqlite3.Connection | None = None
        self._leases: dict[int, tuple[str, float, str]] = {}  # unit id -> (worker, until, partition)
        with self._lock:
            c = self._conn
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA busy_timeout=30000")
            c.execute("PRAGMA cache_size=-16384")
            c.execute("PRAGMA temp_store=MEMORY")
            self._set_sync("FULL")
            c.executescript(SCHEMA)
        if self.path == ":memory:":
            self._rconn = self._conn
            self._rlock: threading.RLock | threading.Lock = self._lock
        else:
            self._rconn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._rconn.execute("PRAGMA busy_timeout=30000")
            self._rconn.execute("PRAGMA cache_size=-16384")
            self._rlock = threading.Lock()

    # -- helpers -------------------------------------------------------------------------

    def _set_sync(self, mode: str) -> None:
        if self._sync != mode:
            self._conn.execute(f"PRAGMA synchronous={mode}")
            self._sync = mode

    def _route_id(self, route: Route) -> int:
        key = route.key()
        rid = self._route_ids.get(key)
        if rid is None:
            c = self._conn
            c.execute("INSERT OR IGNORE INTO routes(key, destination, kind) VALUES (?, ?, ?)",
                      (key, route.destination, route.kind))
            rid = c.execute("SELECT id FROM routes WHERE key = ?", (key,)).fetchone()[0]
            self._route_ids[key] = rid
            self._routes[rid] = route
        return rid

    def _route(self, rid: int) -> Route:
        route = self._routes.get(rid)
        if route is None:
            key = self._conn.execute("SELECT key FROM routes WHERE id = ?", (rid,)).fetchone()[0]
            route = Route.from_key(key)
            self._routes[rid] = route
            self._route_ids[key] = rid
        return route

    def _txn(self, sync: str):
        return _Txn(self, sync)

    # -- enqueue (group commit) -------------------------------------------------------------

    def enqueue(self, units: Sequence[NewUnit]) -> list[int]:
        return self.enqueue_with_dead(units, ())

    def enqueue_with_dead(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                          also: Sequence[tuple[str, tuple]] = ()) -> list[int]:
        """Enqueue ``units`` and store ``dead`` letters in one durable transaction. ``also`` are
        extra statements (SQL, parameters) committed in the same transaction (the relay's inbox
        uses it to consume the messages these units came from, exactly once)."""
        if not units and not dead and not also:
            return []
        me = _PendingEnqueue(units, dead, also)
        self._group.submit(me)
        return me.ids

    def _write_group(self, group: list[_PendingEnqueue]) -> None:
        try:
            with self._txn("FULL"):
                c = self._conn
                for p in group:
                    rows = [(self._route_id(u.route), u.partition, u.message_id, u.entry, u.created_at)
                            for u in p.units]
                    first = c.execute("SELECT seq FROM sqlite_sequence WHERE name='units'").fetchone()
                    c.executemany(
                        "INSERT INTO units(route_id, partition, message_id, entry, created_at) VALUES (?,?,?,?,?)",
                        rows,
                    )
                    start = (first[0] if first else 0) + 1
                    p.ids = list(range(start, start + len(rows)))
                    if p.dead:
                        now = time.time()
                        c.executemany(
                            "INSERT INTO dead_letters(unit_id, route_id, partition, message_id, entry, created_at, "
                            "dead_at, attempts, reason) VALUES (0, ?, ?, ?, ?, ?, ?, 0, ?)",
                            [(self._route_id(u.route), u.partition, u.message_id, u.entry, u.created_at, now, reason)
                             for u, reason in p.dead],
                        )
                    for sql, params in p.also:
                        c.execute(sql, params)
        except BaseException:
            self._route_ids.clear()  # a rolled-back route insert must not stay cached
            self._routes.clear()
            for p in group:
                p.ids = []
            raise

    # -- leasing ----------------------------------------------------------------------------

    def lease(self, worker_id: str, max_units: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        now = time.time() if now is None else now
        with self._lease_lock, self._rlock:
            leases = self._leases
            expired = [i for i, (_, until, _) in leases.items() if until < now]
            for i in expired:
                del leases[i]
            blocked = {part for _, _, part in leases.values()}
            c = self._rconn
            blocked.update(r[0] for r in c.execute(
                "SELECT DISTINCT partition FROM units WHERE not_before > 0 AND not_before > ?", (now,)))
            # Only rows of partitions with nothing leased or waiting are scanned, in enqueue order,
            # within a window: a throttled user's backlog never hides the others' units.
            rows = c.execute(
                "SELECT id, route_id, partition, attempts FROM units WHERE not_before <= ? "
                "AND partition NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?",
                (now, orjson.dumps(list(blocked)), max(SCAN_WINDOW, 2 * max_units)),
            ).fetchall()
            picked = [(r[0], r[1], r[2]) for r in pick_runs(rows, max_units)]
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
                    chosen.append(Lease(uid, self._route_cached(rid), entry, part, mid, created, attempts, err))
                    leases[uid] = (worker_id, until, part)
        return chosen

    def _route_cached(self, rid: int) -> Route:
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
            return len(mine)

    def _unlease(self, ids: Iterable[int]) -> None:
        with self._lease_lock:
            pop = self._leases.pop
            for i in ids:
                pop(i, None)

    def ack(self, ids: Iterable[int]) -> None:
        self.settle(ack=ids)

    def retry(self, items: Iterable[RetryItem]) -> None:
        self.settle(retry=items)

    def dead_letter(self, items: Iterable[tuple[int, str]], now: float | None = None) -> None:
        self.settle(dead=items, now=now)

    def settle(self, ack: Iterable[int] = (), retry: Iterable[RetryItem] = (),
               dead: Iterable[tuple[int, str]] = (), now: float | None = None) -> None:
        now = time.time() if now is None else now
        acks = [(i,) for i in ack]
        retries = [(max(it.not_before, 0.0), it.error, 1 if it.count_attempt else 0, it.id) for it in retry]
        deads = list(dead)
        if not (acks or retries or deads):
            return
        try:
            self._settle(acks, retries, deads, now)
        finally:
            self._unlease([a for (a,) in acks] + [r[3] for r in retries] + [d[0] for d in deads])

    def _settle(self, acks: list, retries: list, deads: list, now: float) -> None:
        with self._txn("NORMAL"):
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
        terms: list[str] = []
        args: list = []
        if flt.destination is not None:
            terms.append("r.destination = ?")
            args.append(flt.destination)
        if flt.kind is not None:
            terms.append("r.kind = ?")
            args.append(flt.kind)
        if flt.reason_contains:
            terms.append("instr(lower(d.reason), lower(?)) > 0")
            args.append(flt.reason_contains)
        if flt.message_id is not None:
            terms.append("d.message_id = ?")
            args.append(flt.message_id)
        if flt.partition is not None:
            terms.append("d.partition = ?")
            args.append(flt.partition)
        if flt.since is not None:
            terms.append("d.dead_at >= ?")
            args.append(flt.since)
        if flt.until is not None:
            terms.append("d.dead_at < ?")
            args.append(flt.until)
        if flt.ids is not None:
            if not flt.ids:
                terms.append("0")
            else:
                terms.append(f"d.id IN ({','.join('?' * len(flt.ids))})")
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
        with self._txn("FULL"):
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
        with self._txn("NORMAL"):
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
                    self._sconn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
                    self._sconn.execute("PRAGMA busy_timeout=30000")
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
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass
            self._conn.close()


class _Txn:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error) under the connection lock."""

    __slots__ = ("q", "sync")

    def __init__(self, q: SQLiteQueue, sync: str):
        self.q = q
        self.sync = sync

    def __enter__(self) -> None:
        self.q._lock.acquire()
        try:
            self.q._set_sync(self.sync)
            self.q._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.q._lock.release()
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.q._conn.execute("COMMIT")
            else:
                self.q._conn.execute("ROLLBACK")
        finally:
            self.q._lock.release()
