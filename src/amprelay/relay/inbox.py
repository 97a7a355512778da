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

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from amprelay.queue.groupcommit import GroupCommit

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
        self._group: GroupCommit[list[tuple[str, bytes, str | None, float]]] = GroupCommit(self._write)
        self.arrived = threading.Event()

    def append(self, source: str, messages: bytes | None, rejected: Sequence[tuple[str, bytes]] = ()) -> None:
        """Store accepted messages (``messages``: one JSON array, a request's worth, in one row)
        and rejected ones (each with its reason, a row each) durably; return once on disk.
        Concurrent callers share one transaction."""
        now = time.time()
        rows = [(source, messages, None, now)] if messages else []
        rows += [(source, m, r, now) for r, m in rejected]
        if not rows:
            return
        self._group.submit(rows)
        self.arrived.set()

    def _write(self, group: list[list[tuple[str, bytes, str | None, float]]]) -> None:
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

    @staticmethod
    def consume_sql(last_id: int) -> tuple[str, tuple]:
        """The statement that removes messages up to ``last_id`` (run in the queue's transaction)."""
        return "DELETE FROM inbox WHERE id <= ?", (last_id,)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class IngestPressure:
    """How many ingest requests are being handled right now (the HTTP layer counts them).

    The processor gives way to ingest: while requests are in flight it waits between its
    batches, so a burst is taken (durably, in the inbox) at ingest's own speed and mapped after.
    It never waits longer than ``max_yield`` seconds in a row, so mapping always progresses."""

    def __init__(self) -> None:
        self.inflight = 0
        self.last = 0.0  # monotonic time a request last started or ended

    def enter(self) -> None:
        self.inflight += 1
        self.last = time.monotonic()

    def exit(self) -> None:
        self.inflight -= 1
        self.last = time.monotonic()

    def quiet(self, for_seconds: float) -> bool:
        """No request in flight, and none for ``for_seconds``."""
        return self.inflight <= 0 and time.monotonic() - self.last >= for_seconds


class InboxProcessor:
    """A thread that turns inbox messages into queue units (see the module docstring)."""

    def __init__(self, inbox: SQLiteInbox, process: Callable[[list[tuple[int, str, Any, str | None]]], Any],
                 store: Callable[[Any, tuple[str, tuple]], None], batch: int = 20,
                 pressure: IngestPressure | None = None, max_yield: float = 0.05):
        self.inbox = inbox
        self._process = process
        self._store = store
        self.batch = batch
        self.pressure = pressure
        self.max_yield = max_yield
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
        """Process one batch (of ``limit`` rows, default ``batch``); returns how many rows it consumed."""
        rows = self.inbox.read(limit or self.batch)
        if not rows:
            return 0
        decoded = [(i, src, orjson.loads(payload), reason) for i, src, payload, reason in rows]
        result = self._process(decoded)
        self._store(result, SQLiteInbox.consume_sql(rows[-1][0]))
        self.processed += len(rows)
        return len(rows)

    def _give_way(self) -> int:
        """Wait (releasing the GIL) while ingest requests are in flight, up to ``max_yield``;
        returns how many rows to take now: one while ingest is busy, a full batch once it has been
        quiet for 100 ms."""
        pressure = self.pressure
        if pressure is None or pressure.quiet(0.1):
            return self.batch
        deadline = time.monotonic() + self.max_yield
        while pressure.inflight > 0 and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.001)
        return 1

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self.inbox.arrived.clear()
                if self.drain_once(self._give_way()):
                    backoff = 0.1
                    continue
                self.inbox.arrived.wait(0.25)
            except Exception as exc:  # the queue refused (disk full...): keep the messages, retry
                self.last_error = str(exc)
                log.error("inbox processing failed, retrying: %s", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
