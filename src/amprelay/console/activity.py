"""The console's record of what the relay did: per-minute counts per destination over the last
day, the latest events with their outcome, and Amplitude's last errors.

:class:`Activity` is the :class:`~amprelay.relay.runtime.RelayObserver` of the relay and the
:class:`~amprelay.delivery.observer.DeliveryObserver` of delivery. It lives in memory (thread
safe: the inbox processor, delivery and the console's handlers call it from different threads)
and saves its counts to a small JSON file now and then, so a restart keeps the charts.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amprelay.js.json import dumps, loads
from amprelay.store.base import Lease
from amprelay.store.paths import write_private

COUNTERS = ("received", "filtered", "delivered", "retrying", "dead")
RECEIVED, FILTERED, DELIVERED, RETRYING, DEAD = range(len(COUNTERS))
DAY_MINUTES = 24 * 60
ERRORS_KEPT = 50


@dataclass
class DestinationOutcome:
    """What one destination did with one event."""

    fired: Sequence[tuple[str, str, int, str | None]]  # (subscription, action, units, mapping error)
    units: int = 0
    delivered: int = 0
    dead: int = 0
    waiting: set[int] = field(default_factory=set)  # ids of units back in the queue for a retry
    answer: str = ""  # Amplitude's last answer for this event's units ("200", "400: ...")
    reason: str = ""  # why a unit is retrying or dead

    @property
    def status(self) -> str:
        if not self.fired:
            return "filtered"
        if self.dead:
            return "dead-lettered"
        if self.units == 0:
            return "mapping error"
        if self.delivered >= self.units:
            return "delivered"
        if self.waiting:
            return "retrying"
        return "queued"


@dataclass
class LiveEvent:
    seq: int
    at: float
    source: str
    message: Any
    destinations: dict[str, DestinationOutcome] = field(default_factory=dict)
    rejected: str | None = None  # the reason, when the message itself was invalid

    @property
    def message_id(self) -> str:
        return str(self.message.get("messageId") or "") if isinstance(self.message, dict) else ""

    @property
    def summary(self) -> str:
        m = self.message if isinstance(self.message, dict) else {}
        kind = str(m.get("type") or "?")
        name = m.get("event") if kind == "track" else m.get("name")
        return f"{kind} {name}" if isinstance(name, str) and name else kind

    @property
    def user(self) -> str:
        m = self.message if isinstance(self.message, dict) else {}
        return str(m.get("userId") or m.get("anonymousId") or "")

    @property
    def status(self) -> str:
        if self.rejected is not None:
            return "rejected"
        statuses = {d.status for d in self.destinations.values()}
        for s in ("dead-lettered", "mapping error", "retrying", "queued", "delivered"):
            if s in statuses:
                return s
        return "filtered"


@dataclass(frozen=True)
class AmplitudeError:
    at: float
    destination: str
    url: str
    status: int | None
    error: str
    entries: int


class Activity:
    def __init__(self, path: str | Path | None = None, live_events: int = 200,
                 clock=time.time, save_every: float = 60.0):
        self._lock = threading.Lock()
        self._clock = clock
        self._path = Path(path) if path is not None else None
        self._save_every = save_every
        self._saved_at = clock()
        self._series: dict[str, dict[int, list[int]]] = {}  # destination -> minute -> counters
        self._live: OrderedDict[str, LiveEvent] = OrderedDict()  # message id -> event (newest last)
        self._live_max = live_events
        self._seq = 0
        self._anon = 0
        self.errors: deque[AmplitudeError] = deque(maxlen=ERRORS_KEPT)
        self.started_at = clock()
        self._load()

    # --- relay side ----------------------------------------------------------------------------
    def on_message(self, source: str, message: dict[str, Any], destination: str,
                   fired: Sequence[tuple[str, str, int, str | None]], now: float) -> None:
        units = sum(f[2] for f in fired)
        with self._lock:
            counts = self._bucket(destination, now)
            counts[RECEIVED] += 1
            if not fired:
                counts[FILTERED] += 1
            ev = self._event(source, message, now)
            ev.destinations[destination] = DestinationOutcome(fired=fired, units=units)
            self._touch(ev)
        self._maybe_save(now)

    def on_rejected(self, source: str, message: Any, reason: str, now: float) -> None:
        with self._lock:
            ev = self._event(source, message, now)
            ev.rejected = reason
            self._touch(ev)

    # --- delivery side -------------------------------------------------------------------------
    def on_answer(self, destination: str, url: str, status: int | None, error: str, entries: int,
                  leases: Sequence[Lease], now: float) -> None:
        ok = status is not None and 200 <= status < 300
        answer = str(status) if ok else (f"{status}: {error}" if status is not None else f"no answer: {error}")
        with self._lock:
            if not ok:
                self.errors.appendleft(AmplitudeError(now, destination, url, status, error, entries))
            for lease in leases:
                out = self._outcome(lease)
                if out is not None:
                    out.answer = answer

    def on_settled(self, outcomes: Sequence[tuple[Lease, str, str]], now: float) -> None:
        with self._lock:
            for lease, what, reason in outcomes:
                counts = self._bucket(lease.route.destination, now)
                out = self._outcome(lease)
                if what == "delivered":
                    counts[DELIVERED] += 1
                    if out is not None:
                        out.delivered += 1
                        out.waiting.discard(lease.id)
                elif what == "dead":
                    counts[DEAD] += 1
                    if out is not None:
                        out.dead += 1
                        out.reason = reason
                        out.waiting.discard(lease.id)
                else:
                    counts[RETRYING] += 1
                    if out is not None:
                        out.waiting.add(lease.id)
                        out.reason = reason
                if out is not None:
                    self._touch(self._live[lease.message_id])
        self._maybe_save(now)

    # --- reading -------------------------------------------------------------------------------
    @property
    def seq(self) -> int:
        return self._seq

    def destinations(self) -> list[str]:
        with self._lock:
            return sorted(self._series)

    def totals(self, destination: str, seconds: float, now: float | None = None) -> dict[str, int]:
        """Counts over the last ``seconds`` (whole minutes)."""
        now = self._clock() if now is None else now
        first = int((now - seconds) // 60) + 1
        out = dict.fromkeys(COUNTERS, 0)
        with self._lock:
            for minute, counts in self._series.get(destination, {}).items():
                if minute >= first:
                    for name, n in zip(COUNTERS, counts, strict=True):
                        out[name] += n
        return out

    def series(self, destination: str, buckets: int, bucket_minutes: int,
               now: float | None = None) -> list[tuple[int, dict[str, int]]]:
        """``buckets`` consecutive buckets of ``bucket_minutes`` ending now: (start minute, counts)."""
        now = self._clock() if now is None else now
        last = int(now // 60) // bucket_minutes
        out = [((last - i) * bucket_minutes, dict.fromkeys(COUNTERS, 0)) for i in range(buckets - 1, -1, -1)]
        first = out[0][0]
        with self._lock:
            for minute, counts in self._series.get(destination, {}).items():
                if minute < first:
                    continue
                idx = (minute // bucket_minutes) - (first // bucket_minutes)
                if 0 <= idx < buckets:
                    slot = out[idx][1]
                    for name, n in zip(COUNTERS, counts, strict=True):
                        slot[name] += n
        return out

    def live(self, limit: int = 100, after: int = 0) -> list[LiveEvent]:
        """The latest events, newest first (only those changed after ``after``)."""
        with self._lock:
            events = [e for e in reversed(self._live.values()) if e.seq > after]
        return events[:limit]

    def find(self, message_id: str) -> LiveEvent | None:
        with self._lock:
            return self._live.get(message_id)

    # --- persistence ---------------------------------------------------------------------------
    def save(self) -> None:
        if self._path is None:
            return
        with self._lock:
            data = {"version": 1, "series": {d: {str(m): c for m, c in s.items()} for d, s in self._series.items()}}
        tmp = self._path.with_suffix(self._path.suffix + ".tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_private(self._path, dumps(data))  # 0600 whatever the umask
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _load(self) -> None:
        if self._path is None or not self._path.is_file():
            return
        try:
            data = loads(self._path.read_bytes())
            series = {d: {int(m): [int(x) for x in c][:len(COUNTERS)] for m, c in s.items()}
                      for d, s in data.get("series", {}).items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return  # a damaged activity file only costs the charts' history
        oldest = int(self._clock() // 60) - DAY_MINUTES
        self._series = {d: {m: c + [0] * (len(COUNTERS) - len(c)) for m, c in s.items() if m > oldest}
                        for d, s in series.items()}

    def _maybe_save(self, now: float) -> None:
        if self._path is not None and now - self._saved_at >= self._save_every:
            self._saved_at = now
            self.save()

    # --- internals (lock held) -----------------------------------------------------------------
    def _bucket(self, destination: str, now: float) -> list[int]:
        minute = int(now // 60)
        series = self._series.get(destination)
        if series is None:
            series = self._series[destination] = {}
        counts = series.get(minute)
        if counts is None:
            counts = series[minute] = [0] * len(COUNTERS)
            oldest = minute - DAY_MINUTES
            for m in [m for m in series if m <= oldest]:
                del series[m]
        return counts

    def _event(self, source: str, message: Any, now: float) -> LiveEvent:
        mid = str(message.get("messageId") or "") if isinstance(message, dict) else ""
        if not mid:
            self._anon += 1
            mid = f"(no messageId #{self._anon})"
        ev = self._live.get(mid)
        if ev is None:
            ev = self._live[mid] = LiveEvent(0, now, source, message)
            while len(self._live) > self._live_max:
                self._live.popitem(last=False)
        return ev

    def _outcome(self, lease: Lease) -> DestinationOutcome | None:
        ev = self._live.get(lease.message_id)
        return ev.destinations.get(lease.route.destination) if ev is not None else None

    def _touch(self, ev: LiveEvent) -> None:
        self._seq += 1
        ev.seq = self._seq
