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
a restart doesn't split sessions: the state is kept in the store (:mod:`amprelay.store.sessions`:
the SQLite file, or PostgreSQL, shared by every relay, each assignment one transaction holding the
key's row lock, so relays that see one device's events at the same time agree on its sessions).

An event that already carries a session id is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

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


class SessionStateStore(Protocol):
    """Where the state is kept (:mod:`amprelay.store.sessions`): bytes per key, changed by a
    function of the old state (None: none yet) returning (result, new state or None)."""

    def update(self, key: str, change: Callable[[bytes | None], tuple[int, bytes | None]]) -> int: ...

    def close(self) -> None: ...


def _decode(state: bytes | None) -> tuple[Session, ...]:
    return tuple(Session(a, b) for a, b in orjson.loads(state)) if state else ()


def _encode(sessions: tuple[Session, ...]) -> bytes:
    return orjson.dumps([[s.start, s.last] for s in sessions])


def assign_in(store: SessionStateStore, key: str, t: int, gap_ms: int) -> int:
    """The session id for an event of ``key`` at ``t``, the store's state updated (one change)."""

    def change(state: bytes | None) -> tuple[int, bytes | None]:
        sessions = _decode(state)
        sid, updated = assign(sessions, t, gap_ms)
        return sid, (_encode(updated) if updated != sessions else None)

    return store.update(key, change)


def apply_server_session(store: SessionStateStore, destination: str, message: dict[str, Any], gap_ms: int,
                         now_ms: int) -> dict[str, Any]:
    """``message`` with a server-side session id, unless it has one or no key to group by."""
    if existing_session_id(message) is not None:
        return message
    key = session_key(message)
    if key is None:
        return message
    t = event_time_ms(message)
    sid = assign_in(store, well_formed(f"{destination}|{key}"), t if t is not None else now_ms, gap_ms)
    return with_session_id(message, sid)


__all__ = ["Session", "SessionStateStore", "apply_server_session", "assign", "assign_in"]
