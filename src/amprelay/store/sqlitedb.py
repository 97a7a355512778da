"""The embedded store's one SQLite file: pragmas, schema and migrations, the write connection
and the group commit. The queue (:mod:`amprelay.store.sqlite`), the inbox
(:mod:`amprelay.store.inbox`) and the server-side session state (:mod:`amprelay.store.sessions`)
are views of one :class:`SQLiteDatabase`; nothing else opens the file.

Writes go through one connection under one lock. Durable writes (inbox appends, enqueues,
dead-letter moves) commit with ``synchronous=FULL`` through :attr:`SQLiteDatabase.group`, so
concurrent inbox appends and enqueues share one transaction and one fsync. Settlements and
session state commit with ``synchronous=NORMAL`` (a process crash loses nothing; a power cut may
undo the last ones, which at worst resends a unit Amplitude deduplicates by ``insert_id``).

The schema's version is SQLite's ``user_version``; :data:`MIGRATIONS` bring any older file up to
date when it is opened. The file, its ``-wal`` and ``-shm`` are created 0600 (SQLite gives the
journal files the database's mode) whatever the umask.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from amprelay.store.base import routes_without_keys
from amprelay.store.groupcommit import GroupCommit
from amprelay.store.paths import private_dir, private_file

# Each entry brings the schema from version i to i + 1. Version 1 is what amprelay's files held
# before the schema was versioned (every statement is IF NOT EXISTS, so those files migrate too).
MIGRATIONS: list[str] = [
    # 1: queue, dead letters, inbox, server-side sessions
    """
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
    CREATE TABLE IF NOT EXISTS inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        payload BLOB NOT NULL,
        reason TEXT,
        received_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS server_sessions (key TEXT PRIMARY KEY, state BLOB NOT NULL);
    """,
    # 2: no API key at rest: routes keep a reference to their destination's key (code below)
    "",
    # 3: messageIds accepted recently (ingest.dedupe_window)
    """
    CREATE TABLE IF NOT EXISTS dedupe (
        source TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seen_at REAL NOT NULL,
        PRIMARY KEY (source, message_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS dedupe_seen_at ON dedupe(seen_at);
    """,
    # 4: mapping in several processes: each shard's last consumed inbox row (none: one mapper)
    """
    CREATE TABLE IF NOT EXISTS inbox_cursors (
        shard INTEGER PRIMARY KEY,
        last_id INTEGER NOT NULL,
        count INTEGER NOT NULL,
        key TEXT NOT NULL
    )
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)



def _routes_without_keys(c: sqlite3.Connection) -> None:
    updates, merges = routes_without_keys(c.execute("SELECT id, key FROM routes").fetchall())
    c.execute("PRAGMA secure_delete=ON")  # the old keys' bytes are overwritten, not left in free pages
    for old, survivor in merges:
        c.execute("UPDATE units SET route_id = ? WHERE route_id = ?", (survivor, old))
        c.execute("UPDATE dead_letters SET route_id = ? WHERE route_id = ?", (survivor, old))
        c.execute("DELETE FROM routes WHERE id = ?", (old,))
    c.executemany("UPDATE routes SET key = ? WHERE id = ?", updates)


# Python-level migrations run after the script of the same index (a route key rewrite needs code).
POST_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _routes_without_keys}

Write = Callable[[sqlite3.Connection], None]


def _is_write_failure(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError | OSError) and \
        not isinstance(exc, sqlite3.IntegrityError)


class SQLiteDatabase:
    """One SQLite file (``":memory:"`` for tests). Thread-safe.

    ``shared``: the processes of one relay write the file together (``serve --workers``). Their
    transactions then take turns on an ``flock`` of ``<file>-writer`` (the kernel hands it over at
    once) rather than meeting SQLite's busy handler, which sleeps in steps of up to 100 ms."""

    def __init__(self, path: str | os.PathLike[str], shared: bool = False):
        self.path = str(path)
        if self.path != ":memory:":
            private_dir(Path(self.path).parent)
            private_file(Path(self.path))
        self._writer_fd: int | None = None
        if shared and self.path != ":memory:":
            private_file(Path(self.path + "-writer"))
            self._writer_fd = os.open(self.path + "-writer", os.O_RDWR)
        self.lock = threading.RLock()  # the write connection
        self.conn = self._open()
        self._sync = ""
        self.write_error: str | None = None  # why the last write failed, until one succeeds
        with self.lock:
            self.conn.execute("PRAGMA journal_mode=WAL")
            # after a checkpoint the WAL shrinks back to this, so a burst's pages return to the disk
            self.conn.execute("PRAGMA journal_size_limit=16777216")
            self._set_sync("FULL")
            self._migrate()
        if self.path != ":memory:":
            for suffix in ("-wal", "-shm"):  # files made by an older amprelay under a loose umask
                private_file(Path(self.path + suffix), create=False)
        self.group: GroupCommit[Write] = GroupCommit(self._write_group, name="amprelay-store-writer")
        self._closed = False

    # -- connections ------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        c.execute("PRAGMA busy_timeout=30000")
        c.execute("PRAGMA cache_size=-16384")
        c.execute("PRAGMA temp_store=MEMORY")
        return c

    def reader(self) -> tuple[sqlite3.Connection, threading.RLock | threading.Lock]:
        """A connection of its own for reads (and its lock); the write connection in memory."""
        if self.path == ":memory:":
            return self.conn, self.lock
        return self._open(), threading.Lock()

    def _set_sync(self, mode: str) -> None:
        if self._sync != mode:
            self.conn.execute(f"PRAGMA synchronous={mode}")
            self._sync = mode

    def _migrate(self) -> None:
        c = self.conn
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} was written by a newer amprelay (schema {version}, "
                               f"this one knows {SCHEMA_VERSION}); upgrade amprelay")
        for v in range(version, SCHEMA_VERSION):
            c.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(MIGRATIONS[v]):
                    c.execute(statement)
                post = POST_MIGRATIONS.get(v)
                if post is not None:
                    post(c)
                c.execute(f"PRAGMA user_version={v + 1}")
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            finally:
                c.execute("PRAGMA secure_delete=OFF")
        if version < SCHEMA_VERSION and self.path != ":memory:":
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # nothing of the old schema left in the WAL

    # -- writes -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def txn(self, sync: str = "NORMAL") -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error) on the write connection.
        A failure to write (disk full, I/O error) is kept in :attr:`write_error` until a write
        succeeds again."""
        with self.lock, self._writer_turn():
            try:
                self._set_sync(sync)
                self.conn.execute("BEGIN IMMEDIATE")
            except BaseException as exc:
                self._failed(exc)
                raise
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                self._failed(exc)
                raise
            self.write_error = None

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        fd = self._writer_fd
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks with the GIL released
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _failed(self, exc: BaseException) -> None:
        if _is_write_failure(exc):
            self.write_error = f"the store cannot write: {exc}"

    def _write_group(self, group: list[Write]) -> None:
        with self.txn("FULL") as c:
            for write in group:
                write(c)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.group.close()
        with self.lock:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.conn.close()
        if self._writer_fd is not None:
            os.close(self._writer_fd)
            self._writer_fd = None


def shard_consumed(c: sqlite3.Connection, shard: int, last_id: int) -> None:
    """In a write transaction: ``shard`` consumed the inbox up to ``last_id``; remove the rows
    every shard has consumed."""
    c.execute("UPDATE inbox_cursors SET last_id = ? WHERE shard = ?", (last_id, shard))
    c.execute("DELETE FROM inbox WHERE id <= (SELECT MIN(last_id) FROM inbox_cursors)")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
