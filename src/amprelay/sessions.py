"""Server-side sessions (opt-in per destination: ``server_sessions: {enabled: true}``).

Segment's destination relies on the browser plugin or the mobile plugins to put a session id in
``integrations["Actions Amplitude"].session_id``. Events from server-side SDKs and replays have
none; with this setting amprelay assigns one by grouping each device's (else user's) events with
an inactivity gap (default 30 minutes), like Amplitude's own SDKs: the session id is the time of
the session's first event in epoch milliseconds.

Late and out-of-order events: the last few sessions of each key are remembered. An event whose
time falls inside one of them, or within the gap after its last event or before its first one,
joins that session (extending it; the id stays the first event's time). An event older than all
remembered sessions starts a session of its own (its id is its own time) without disturbing the
current one. So a replay of the same events in the same order yields the same session ids, and
a restart doesn't split sessions: the state is kept in the queue's store (:class:`SessionStore`
in the SQLite file; :class:`PostgresSessionStore` in PostgreSQL, shared by every relay, each
assignment one transaction holding the key's row lock, so relays that see one device's events
at the same time agree on its sessions).

An event that already carries a session id is left alone.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from amprelay.errors import AmprelayError
from amprelay.js.json import well_formed

DESTINATION_KEY = "Actions Amplitude"
KEEP_SESSIONS = 8


@dataclass(frozen=True, slots=True)
class Session:
    start: int  # ms; the session id
    last: int  # ms of the latest event seen in it


def assign(sessions: tuple[Session, ...], t: int, gap_ms: int) -> tuple[int, tuple[Session, ...]]:
    """The session id for an event at ``t`` and the updated sessions (newest last). Pure."""
    for i in range(len(sessions) - 1, -1, -1):
        s = sessions[i]
        if s.start - gap_ms < t < s.last + gap_ms:
            nxt = sessions[i + 1].start if i + 1 < len(sessions) else None
            if nxt is not None and t >= nxt:
                continue
            updated = Session(s.start, max(s.last, t))
            return s.start, sessions[:i] + (updated,) + sessions[i + 1:]
    new = Session(t, t)
    merged = sorted(sessions + (new,), key=lambda s: s.start)
    return t, tuple(merged[-KEEP_SESSIONS:])


def event_time_ms(message: dict[str, Any]) -> int | None:
    for key in ("timestamp", "originalTimestamp", "receivedAt"):
        v = message.get(key)
        if isinstance(v, str) and v:
            try:
                dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                continue
            if dt.tzinfo is None:
                from datetime import UTC

                dt = dt.replace(tzinfo=UTC)
            return int(dt.timestamp() * 1000)
    return None


def session_key(message: dict[str, Any]) -> str | None:
    context = message.get("context")
    device = context.get("device") if isinstance(context, dict) else None
    device_id = device.get("id") if isinstance(device, dict) else None
    for prefix, value in (("d", device_id), ("a", message.get("anonymousId")), ("u", message.get("userId"))):
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            return f"{prefix}:{value}"
    return None


def existing_session_id(message: dict[str, Any]) -> Any:
    integrations = message.get("integrations")
    if isinstance(integrations, dict):
        own = integrations.get(DESTINATION_KEY)
        if isinstance(own, dict) and own.get("session_id") not in (None, ""):
            return own["session_id"]
    return None


def with_session_id(message: dict[str, Any], session_id: int) -> dict[str, Any]:
    """A shallow copy of ``message`` carrying ``session_id`` where the presets read it."""
    integrations = dict(message.get("integrations") or {})
    own = integrations.get(DESTINATION_KEY)
    integrations[DESTINATION_KEY] = {**(own if isinstance(own, dict) else {}), "session_id": session_id}
    return {**message, "integrations": integrations}


class SessionStoreUnavailable(AmprelayError):
    """The session state can't be read or written now (the database is away)."""


def _decode(state: bytes) -> tuple[Session, ...]:
    return tuple(Session(a, b) for a, b in orjson.loads(state))


def _encode(sessions: tuple[Session, ...]) -> bytes:
    return orjson.dumps([[s.start, s.last] for s in sessions])


class SessionStore:
    """Session state per (destination, key) in a SQLite table next to the queue, with an LRU
    cache in front (one relay owns the file). Thread-safe."""

    def __init__(self, path: str, cache_size: int = 100_000):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Not the data of record: a power cut may lose the last assignments (a session then
        # splits in two), never an event. A process crash loses nothing (WAL).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("CREATE TABLE IF NOT EXISTS server_sessions (key TEXT PRIMARY KEY, state BLOB NOT NULL)")
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[Session, ...]] = OrderedDict()
        self._cache_size = cache_size

    def _load(self, key: str) -> tuple[Session, ...]:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        row = self._db.execute("SELECT state FROM server_sessions WHERE key = ?", (key,)).fetchone()
        return _decode(row[0]) if row else ()

    def assign(self, key: str, t: int, gap_ms: int) -> int:
        with self._lock:
            sessions = self._load(key)
            sid, updated = assign(sessions, t, gap_ms)
            if updated != sessions:
                self._db.execute(
                    "INSERT INTO server_sessions (key, state) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET state = excluded.state",
                    (key, _encode(updated)),
                )
            self._cache[key] = updated
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return sid

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresSessionStore:
    """Session state in PostgreSQL (``amprelay_server_sessions``, created by the queue's
    migrations), shared by every relay on the database. No cache: another relay may have moved a
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


def apply_server_session(store: SessionStore | PostgresSessionStore, destination: str, message: dict[str, Any], gap_ms: int,
                         now_ms: int) -> dict[str, Any]:
    """``message`` with a server-side session id, unless it has one or no key to group by."""
    if existing_session_id(message) is not None:
        return message
    key = session_key(message)
    if key is None:
        return message
    t = event_time_ms(message)
    sid = store.assign(well_formed(f"{destination}|{key}"), t if t is not None else now_ms, gap_ms)
    return with_session_id(message, sid)
