"""The inbox: accepted messages, durable before ingest answers, transformed later.

Ingest only parses, validates and appends raw messages here (one fsync'd transaction for all
concurrent requests: group commit), so it answers fast whatever the subscriptions cost. The
:class:`InboxProcessor` thread reads the oldest messages, runs them through the relay's
triggers, mappings and actions, and stores the resulting queue units *and* removes the messages
from the inbox in one transaction of the queue's SQLite file: each message becomes units exactly
once, even across crashes.

The inbox lives in the queue's SQLite file (table ``inbox``). The PostgreSQL backend has no
inbox: its relays transform inline (see ``Relay.accept_sync``).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from amprelay.js.json import loads

log = logging.getLogger("amprelay.inbox")

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT,
    received_at REAL NOT NULL
);
"""


Row = tuple[str, bytes, str | None, float]


class _Waiter:
    __slots__ = ("rows", "loop", "future", "event", "error")

    def __init__(self, rows: list[Row], loop: asyncio.AbstractEventLoop | None = None,
                 future: asyncio.Future | None = None):
        self.rows = rows
        self.loop = loop
        self.future = future
        self.event = threading.Event() if loop is None else None
        self.error: BaseException | None = None


def _resolve(waiters: list[_Waiter], error: BaseException | None) -> None:
    for w in waiters:
        if w.future is not None and not w.future.done():
            if error is None:
                w.future.set_result(None)
            else:
                w.future.set_exception(error)


class _GroupWriter:
    """One thread that writes every waiting append in one transaction (one fsync), then wakes
    its callers: threads through an Event, coroutines through their loop (one callback per loop
    per group). Ingest awaits it on the event loop, without a worker thread per request."""

    def __init__(self, write_group: Callable[[list[list[Row]]], None]):
        self._write_group = write_group
        self._queue: queue.SimpleQueue[_Waiter | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="amprelay-inbox-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: list[Row]) -> None:
        w = _Waiter(rows)
        self._queue.put(w)
        w.event.wait()
        if w.error is not None:
            raise w.error

    async def submit_async(self, rows: list[Row]) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Waiter(rows, loop, future))
        await future

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
            error: BaseException | None = None
            try:
                self._write_group([w.rows for w in group])
            except BaseException as exc:  # every caller of the group sees the failure
                error = exc
            by_loop: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
            for w in group:
                if w.loop is None:
                    w.error = error
                    w.event.set()
                else:
                    by_loop.setdefault(w.loop, []).append(w)
            for loop, waiters in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_resolve, waiters, error)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass


class SQLiteInbox:
    """Raw accepted messages in the queue's SQLite file. Thread-safe."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._writer = _GroupWriter(self._write)
        self.arrived = threading.Event()

    @staticmethod
    def _rows(source: str, messages: bytes | None, rejected: Sequence[tuple[str, bytes]]) -> list[Row]:
        now = time.time()
        rows: list[Row] = [(source, messages, None, now)] if messages else []
        rows += [(source, m, r, now) for r, m in rejected]
        return rows

    def append(self, source: str, messages: bytes | None, rejected: Sequence[tuple[str, bytes]] = ()) -> None:
        """Store accepted messages (``messages``: one JSON array, a request's worth, in one row)
        and rejected ones (each with its reason, a row each) durably; return once on disk.
        Concurrent callers share one transaction."""
        rows = self._rows(source, messages, rejected)
        if rows:
            self._writer.submit(rows)
            self.arrived.set()

    async def append_async(self, source: str, messages: bytes | None,
                           rejected: Sequence[tuple[str, bytes]] = ()) -> None:
        """:meth:`append` for a coroutine: the event loop waits without blocking a thread."""
        rows = self._rows(source, messages, rejected)
        if rows:
            await self._writer.submit_async(rows)
            self.arrived.set()

    def _write(self, group: list[list[Row]]) -> None:
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                for rows in group:
                    c.executemany("INSERT INTO inbox (source, payload, reason, received_at) VALUES (?, ?, ?, ?)", rows)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def read(self, limit: int) -> list[tuple[int, str, bytes, str | None]]:
        """The oldest ``limit`` rows: (id, source, payload, reason). A row without a reason holds
        a JSON array of messages; a row with one holds the rejected message."""
        with self._lock:
            return self._conn.execute(
                "SELECT id, source, payload, reason FROM inbox ORDER BY id LIMIT ?", (limit,)).fetchall()

    def depth(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]

    def last_id(self) -> int:
        """The id of the newest row ever appended (0 if none): rows appended later have larger ids."""
        with self._lock:
            row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'inbox'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def consume_sql(last_id: int) -> tuple[str, tuple]:
        """The statement that removes messages up to ``last_id`` (run in the queue's transaction)."""
        return "DELETE FROM inbox WHERE id <= ?", (last_id,)

    def close(self) -> None:
        self._writer.close()
        with self._lock:
            self._conn.close()


class IngestPressure:
    """How many ingest requests are being handled right now (the HTTP layer counts them on the
    event loop's thread; the processor only reads the count)."""

    __slots__ = ("inflight",)

    def __init__(self) -> None:
        self.inflight = 0

    def enter(self) -> None:
        self.inflight += 1

    def exit(self) -> None:
        self.inflight -= 1


class InboxProcessor:
    """A thread that turns inbox messages into queue units (see the module docstring).

    With ``pressure``, ingest goes first. The processor shares the GIL with the event loop that
    parses requests, so while ingest requests are in flight it maps for at most ``slice`` seconds
    at a time (checked between messages) and then waits, GIL released, until no request is in
    flight or ``max_wait`` has passed; and it takes one inbox row (one request's messages) per
    transaction instead of ``batch``. A burst is so made durable at ingest's own speed and mapped
    after; under pressure mapping still gets at least slice / (slice + max_wait) of the time."""

    def __init__(self, inbox: SQLiteInbox, process: Callable[[list[tuple[int, str, Any, str | None]]], Any],
                 store: Callable[[Any, tuple[str, tuple]], None], batch: int = 20,
                 pressure: IngestPressure | None = None, slice: float = 0.001, max_wait: float = 0.05):
        self.inbox = inbox
        self._process = process
        self._store = store
        self.batch = batch
        self.pressure = pressure
        self.slice = slice
        self.max_wait = max_wait
        self._running_since = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="amprelay-inbox", daemon=True)
        self.processed = 0
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.inbox.arrived.set()
        self._thread.join(timeout)

    def drain_once(self, limit: int | None = None) -> int:
        """Process one batch (``limit`` rows, default ``batch``); returns how many rows it consumed."""
        rows = self.inbox.read(limit or self.batch)
        if not rows:
            return 0
        if self.pressure is None:
            decoded = [(i, src, loads(payload), reason) for i, src, payload, reason in rows]
        else:  # messages handed over one by one, pausing for ingest in between
            decoded = [(i, src, loads(payload) if reason is not None else self._paced(loads(payload)),
                        reason) for i, src, payload, reason in rows]
        result = self._process(decoded)
        self._store(result, SQLiteInbox.consume_sql(rows[-1][0]))
        self.processed += len(rows)
        return len(rows)

    def _paced(self, messages: list[Any]):
        for message in messages:
            self._give_way()
            yield message

    def _give_way(self) -> bool:
        """If ingest requests are in flight and this thread has mapped for ``slice`` seconds, wait
        (GIL released) until none is or ``max_wait`` has passed. Whether ingest was busy."""
        pressure = self.pressure
        if pressure is None or pressure.inflight <= 0:
            return False
        now = time.monotonic()
        if now - self._running_since >= self.slice:
            deadline = now + self.max_wait
            while pressure.inflight > 0 and not self._stop.is_set():
                time.sleep(0.001)
                now = time.monotonic()
                if now >= deadline:
                    break
            self._running_since = now
        return True

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self.inbox.arrived.clear()
                self._running_since = time.monotonic()
                if self.drain_once(1 if self._give_way() else None):
                    backoff = 0.1
                    continue
                self.inbox.arrived.wait(0.25)
            except Exception as exc:  # the queue refused (disk full...): keep the messages, retry
                self.last_error = str(exc)
                log.error("inbox processing failed, retrying: %s", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
