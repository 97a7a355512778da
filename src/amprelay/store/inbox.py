"""The inbox: accepted messages in the store's SQLite file (table ``inbox``), durable before
ingest answers and turned into queue units later by the relay's inbox processor.

Appends go through the store's group commit (one fsync'd transaction for every concurrent
request, shared with the queue's enqueues). The processor hands the rows it read back to the
queue as an :class:`amprelay.store.base.InboxReceipt`: the queue removes them in the transaction
that stores their units, so each message becomes units exactly once, even across crashes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence

from amprelay.store.base import InboxReceipt
from amprelay.store.sqlitedb import SQLiteDatabase

Row = tuple[str, bytes, str | None, float]


class SQLiteInbox:
    """Raw accepted messages in the store's SQLite file. Thread-safe."""

    def __init__(self, db: SQLiteDatabase):
        self.db = db
        self.path = db.path
        self._conn, self._lock = db.reader()
        self.arrived = threading.Event()
        with self._lock:  # bytes of messages waiting to become units (the disk guard's backlog)
            self.pending_bytes = self._conn.execute("SELECT COALESCE(SUM(length(payload)), 0) FROM inbox").fetchone()[0]
        self.appended_bytes = 0  # by this process (an ingest process reports it to the main one)

    @property
    def write_error(self) -> str | None:
        """Why the store file's last write failed (shared with its queue), None once one succeeds."""
        return self.db.write_error

    @staticmethod
    def _rows(source: str, messages: bytes | None, rejected: Sequence[tuple[str, bytes]]) -> list[Row]:
        now = time.time()
        rows: list[Row] = [(source, messages, None, now)] if messages else []
        rows += [(source, m, r, now) for r, m in rejected]
        return rows

    @staticmethod
    def _writer(rows: list[Row]):
        def write(c: sqlite3.Connection) -> None:
            c.executemany("INSERT INTO inbox (source, payload, reason, received_at) VALUES (?, ?, ?, ?)", rows)
        return write

    def append(self, source: str, messages: bytes | None, rejected: Sequence[tuple[str, bytes]] = ()) -> None:
        """Store accepted messages (``messages``: one JSON array, a request's worth, in one row)
        and rejected ones (each with its reason, a row each) durably; return once on disk.
        Concurrent callers share one transaction."""
        rows = self._rows(source, messages, rejected)
        if rows:
            self.db.group.submit(self._writer(rows))
            self._appended(rows)

    async def append_async(self, source: str, messages: bytes | None,
                           rejected: Sequence[tuple[str, bytes]] = ()) -> None:
        """:meth:`append` for a coroutine: the event loop waits without blocking a thread."""
        rows = self._rows(source, messages, rejected)
        if rows:
            await self.db.group.submit_async(self._writer(rows))
            self._appended(rows)

    def _appended(self, rows: list[Row]) -> None:
        size = sum(len(r[1]) for r in rows)
        self.pending_bytes += size
        self.appended_bytes += size
        self.arrived.set()

    def read(self, limit: int, max_bytes: int | None = None) -> list[tuple[int, str, bytes, str | None]]:
        """The oldest ``limit`` rows: (id, source, payload, reason). A row without a reason holds
        a JSON array of messages; a row with one holds the rejected message. ``max_bytes``: only
        as many of them as fit in that many payload bytes (the first row always)."""
        return self.read_after(0, limit, None, max_bytes)

    def read_after(self, after_id: int, limit: int, up_to: int | None = None,
                   max_bytes: int | None = None) -> list[tuple[int, str, bytes, str | None]]:
        """The ``limit`` oldest rows after ``after_id`` (and up to ``up_to``; ``max_bytes`` as in
        :meth:`read`): a shard's next rows."""
        last = up_to if up_to is not None else 2**62
        with self._lock:
            if max_bytes is not None:  # the rows' sizes first (SQLite reads a blob's length from its header)
                sizes = self._conn.execute(
                    "SELECT id, length(payload) FROM inbox WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                    (after_id, last, limit)).fetchall()
                total = 0
                for i, (row_id, size) in enumerate(sizes):
                    if i and total + size > max_bytes:
                        break
                    total += size
                    last = row_id
            return self._conn.execute(
                "SELECT id, source, payload, reason FROM inbox WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                (after_id, last, limit)).fetchall()

    def cursors(self) -> tuple[dict[int, int], str]:
        """Each shard's last consumed row, and the key the shards split the messages by; empty
        when one mapper consumes the inbox in order."""
        with self._lock:
            rows = self._conn.execute("SELECT shard, last_id, key FROM inbox_cursors").fetchall()
        return {k: last for k, last, _ in rows}, (rows[0][2] if rows else "")

    def set_shards(self, shards: int, key: str = "partition") -> None:
        """Split the inbox over ``shards`` mappers by ``key`` from now on (0: one mapper, no
        cursors). Every shard must have consumed its messages up to the furthest cursor (see
        :func:`amprelay.relay.workers.reshard`): the rows up to it are removed."""
        with self.db.txn("FULL") as c:
            old = [r[0] for r in c.execute("SELECT last_id FROM inbox_cursors")]
            if old:
                base = max(old)
            else:  # every row still in the inbox is unconsumed
                first = c.execute("SELECT MIN(id) FROM inbox").fetchone()[0]
                seq = c.execute("SELECT seq FROM sqlite_sequence WHERE name = 'inbox'").fetchone()
                base = first - 1 if first is not None else (seq[0] if seq else 0)
            c.execute("DELETE FROM inbox_cursors")
            c.executemany("INSERT INTO inbox_cursors (shard, last_id, count, key) VALUES (?, ?, ?, ?)",
                          [(k, base, shards, key) for k in range(shards)])
            c.execute("DELETE FROM inbox WHERE id <= ?", (base,))

    def depth(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]

    def last_id(self) -> int:
        """The id of the newest row ever appended (0 if none): rows appended later have larger ids."""
        with self._lock:
            row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'inbox'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def receipt(rows: Sequence[tuple[int, str, bytes, str | None]]) -> InboxReceipt:
        """What consuming ``rows`` (read in order) hands to the queue."""
        return InboxReceipt(rows[-1][0])

    def consumed(self, rows: Sequence[tuple[int, str, bytes, str | None]]) -> None:
        """``rows`` became units (their receipt was committed)."""
        self.pending_bytes = max(0, self.pending_bytes - sum(len(r[2]) for r in rows))

    def close(self) -> None:
        if self._conn is not self.db.conn:
            with self._lock:
                self._conn.close()
