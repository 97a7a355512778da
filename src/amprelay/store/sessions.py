"""Where server-side session state is kept: opaque bytes per key, changed one key at a time
(the rules are in :mod:`amprelay.sessions`, which hands :meth:`update` a function of the old state).
:class:`SessionStore` keeps it in the store's SQLite file, :class:`PostgresSessionStore` in
PostgreSQL, shared by every relay (each change one transaction holding the key's row lock)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from amprelay.errors import AmprelayError
from amprelay.store.sqlitedb import SQLiteDatabase

R = TypeVar("R")
Change = Callable[[bytes | None], tuple[R, bytes | None]]  # old state -> (result, new state or None: unchanged)


class SessionStoreUnavailable(AmprelayError):
    """The session state can't be read or written now (the database is away)."""


class SessionStore:
    """Session state in the store's SQLite file (table ``server_sessions``), with an LRU cache in
    front (one relay owns the file). Thread-safe."""

    def __init__(self, db: SQLiteDatabase | str | os.PathLike[str], cache_size: int = 100_000):
        self._owns_db = not isinstance(db, SQLiteDatabase)
        self.db: SQLiteDatabase = db if isinstance(db, SQLiteDatabase) else SQLiteDatabase(db)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._cache_size = cache_size

    def _load(self, key: str) -> bytes | None:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        with self.db.lock:
            row = self.db.conn.execute("SELECT state FROM server_sessions WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def update(self, key: str, change: Change[R]) -> R:
        with self._lock:
            state = self._load(key)
            result, new = change(state)
            if new is not None and new != state:
                # Not the data of record: synchronous=NORMAL (a power cut may lose the last
                # changes, splitting a session in two, never an event; a crash loses nothing).
                with self.db.txn("NORMAL") as c:
                    c.execute("INSERT INTO server_sessions (key, state) VALUES (?, ?) "
                              "ON CONFLICT(key) DO UPDATE SET state = excluded.state", (key, new))
                state = new
            self._cache[key] = state
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return result

    def close(self) -> None:
        if self._owns_db:
            self.db.close()


class PostgresSessionStore:
    """Session state in PostgreSQL (``amprelay_server_sessions``, created by
    :mod:`amprelay.store.pg_schema`), shared by every relay on the database. No cache: another
    relay may have moved a session on. One connection per thread; each change is one short
    transaction holding the key's row lock."""

    def __init__(self, dsn: str, connect_timeout: float = 5.0):
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()

    def _conn(self):
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=int(self.connect_timeout))
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def update(self, key: str, change: Change[R]) -> R:
        import psycopg

        try:
            conn = self._conn()
            with conn.transaction():
                select = "SELECT state FROM amprelay_server_sessions WHERE key = %s FOR UPDATE"
                row = conn.execute(select, (key,)).fetchone()
                if row is None:
                    conn.execute("INSERT INTO amprelay_server_sessions (key, state) VALUES (%s, %s) "
                                 "ON CONFLICT (key) DO NOTHING", (key, b"[]"))
                    row = conn.execute(select, (key,)).fetchone()
                state = bytes(row[0])
                result, new = change(state)
                if new is not None and new != state:
                    conn.execute("UPDATE amprelay_server_sessions SET state = %s WHERE key = %s", (new, key))
            return result
        except psycopg.Error as exc:
            raise SessionStoreUnavailable(f"the session store (PostgreSQL) is unavailable: {exc}") from exc

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                if not conn.closed:
                    conn.close()
            self._all.clear()
