"""Where server-side session state is kept (the rules are in :mod:`amprelay.sessions`):
:class:`SessionStore` in the store's SQLite file, :class:`PostgresSessionStore` in PostgreSQL."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import orjson

from amprelay.sessions import Session, assign
from amprelay.store.sqlitedb import SQLiteDatabase


class SessionStoreUnavailable(Exception):
    """The session state can't be read or written now (the database is away)."""


def _decode(state: bytes) -> tuple[Session, ...]:
    return tuple(Session(a, b) for a, b in orjson.loads(state))


def _encode(sessions: tuple[Session, ...]) -> bytes:
    return orjson.dumps([[s.start, s.last] for s in sessions])


class SessionStore:
    """Session state per (destination, key) in a SQLite table next to the queue, with an LRU
    cache in front (one relay owns the file). Thread-safe."""

    def __init__(self, db: SQLiteDatabase | str, cache_size: int = 100_000):
        self._owns_db = not isinstance(db, SQLiteDatabase)
        self.db = SQLiteDatabase(db) if self._owns_db else db  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[Session, ...]] = OrderedDict()
        self._cache_size = cache_size

    def _load(self, key: str) -> tuple[Session, ...]:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        with self.db.lock:
            row = self.db.conn.execute("SELECT state FROM server_sessions WHERE key = ?", (key,)).fetchone()
        return _decode(row[0]) if row else ()

    def assign(self, key: str, t: int, gap_ms: int) -> int:
        with self._lock:
            sessions = self._load(key)
            sid, updated = assign(sessions, t, gap_ms)
            if updated != sessions:
                # Not the data of record: synchronous=NORMAL (a power cut may lose the last
                # assignments, splitting a session in two, never an event; a crash loses nothing).
                with self.db.txn("NORMAL") as c:
                    c.execute("INSERT INTO server_sessions (key, state) VALUES (?, ?) "
                              "ON CONFLICT(key) DO UPDATE SET state = excluded.state", (key, _encode(updated)))
            self._cache[key] = updated
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return sid

    def close(self) -> None:
        if self._owns_db:
            self.db.close()


class PostgresSessionStore:
    """Session state in PostgreSQL (``amprelay_server_sessions``, created by
    :mod:`amprelay.store.pg_schema`), shared by every relay on the database. No cache: another relay may have moved a
    session on. One connection per thread; each assignment is one short transaction."""

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

    def assign(self, key: str, t: int, gap_ms: int) -> int:
        import psycopg

        try:
            conn = self._conn()
            with conn.transaction():
                row = conn.execute("SELECT state FROM amprelay_server_sessions WHERE key = %s FOR UPDATE",
                                   (key,)).fetchone()
                if row is None:
                    conn.execute("INSERT INTO amprelay_server_sessions (key, state) VALUES (%s, %s) "
                                 "ON CONFLICT (key) DO NOTHING", (key, b"[]"))
                    row = conn.execute("SELECT state FROM amprelay_server_sessions WHERE key = %s FOR UPDATE",
                                       (key,)).fetchone()
                sessions = _decode(bytes(row[0]))
                sid, updated = assign(sessions, t, gap_ms)
                if updated != sessions:
                    conn.execute("UPDATE amprelay_server_sessions SET state = %s WHERE key = %s",
                                 (_encode(updated), key))
            return sid
        except psycopg.Error as exc:
            raise SessionStoreUnavailable(f"the session store (PostgreSQL) is unavailable: {exc}") from exc

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                if not conn.closed:
                    conn.close()
            self._all.clear()
