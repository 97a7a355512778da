"""Failure episodes per destination: delivery failures that last are visible.

The delivery worker tells :class:`DestinationHealth` what Amplitude answered to each request
(:meth:`DestinationHealth.observe`). A request *fails* when Amplitude took none of it and every
entry comes back for later: 5xx, 408, timeouts, connection errors (no answer), an invalid API key,
a 429 throttling every entry. A 2xx ends the failure. Other answers (a 400 naming bad events, a
413 that splits the batch) are Amplitude answering about the data, and change nothing here.

An *episode* starts with a destination's first failure. Once it has lasted
``warn_after`` seconds, one warning is logged with Amplitude's last status and reason; while it
lasts, the warning is repeated at most every ``repeat_every`` seconds (:meth:`tick` is called by
the delivery loop, so the repeat comes even while backoff sends nothing). When a request
succeeds again, one info line says the destination recovered (only for episodes that warned:
a 503 that the next attempt got past is not news).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from amprelay.delivery.responses import Action, Verdict

log = logging.getLogger("amprelay.delivery.health")

_FAILED = frozenset({Action.BACKOFF, Action.HOLD, Action.THROTTLED})


@dataclass(frozen=True, slots=True)
class Episode:
    """A destination's failures since its last success."""

    destination: str
    since: float  # the first failure
    last_at: float  # the latest failure
    status: int | None  # Amplitude's latest status (None: no answer)
    reason: str  # Amplitude's latest error text (masked) or the transport error
    failures: int = 1  # failed requests in this episode
    warned_at: float | None = None  # the latest warning, None before the first
    warnings: int = 0

    def seconds(self, now: float) -> float:
        return max(0.0, now - self.since)

    @property
    def answer(self) -> str:
        if self.status is None:
            return f"no answer from Amplitude ({self.reason})"
        return f"Amplitude answered {self.status}: {self.reason}"


def request_failed(verdict: Verdict) -> bool | None:
    """True when the request failed, False when it succeeded, None when the answer says nothing
    about the destination's health."""
    if verdict.status is None:
        return True
    if 200 <= verdict.status < 300:
        return False
    if verdict.outcomes and all(o.action in _FAILED for o in verdict.outcomes):
        return True
    return None


class DestinationHealth:
    """Thread-safe: delivery writes from the event loop, ``/ready`` reads from a worker thread."""

    def __init__(self, warn_after: float = 60.0, repeat_every: float = 60.0, *,
                 clock: Callable[[], float] = time.time, logger: logging.Logger = log,
                 on_change: Callable[[str, bool], None] | None = None):
        self.warn_after = warn_after
        self.repeat_every = repeat_every
        self.clock = clock
        self.log = logger
        self.on_change = on_change  # (destination, failing past the threshold) when that flips
        self._lock = threading.Lock()
        self._episodes: dict[str, Episode] = {}

    # -- what delivery tells ------------------------------------------------------------------------

    def observe(self, destination: str, verdict: Verdict, now: float | None = None) -> None:
        failed = request_failed(verdict)
        if failed is True:
            self.failed(destination, verdict.status, verdict.error, now)
        elif failed is False:
            self.succeeded(destination, verdict.status, now)

    def failed(self, destination: str, status: int | None, reason: str, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        with self._lock:
            ep = self._episodes.get(destination)
            if ep is None:
                ep = Episode(destination, now, now, status, reason)
            else:
                ep = replace(ep, last_at=now, status=status, reason=reason, failures=ep.failures + 1)
            self._episodes[destination] = ep
        self._warn_if_due(destination, now)

    def succeeded(self, destination: str, status: int | None = 200, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        with self._lock:
            ep = self._episodes.pop(destination, None)
        if ep is None or ep.warned_at is None:
            return
        self.log.info(
            "destination %r: delivery recovered after %.0fs of failures (%d failed request(s)); Amplitude "
            "answered %s", destination, ep.seconds(now), ep.failures, status,
            extra={"fields": {"destination": destination, "status": status, "failed_seconds": round(ep.seconds(now), 1),
                              "failed_requests": ep.failures, "event": "destination_recovered"}})
        if self.on_change is not None:
            self.on_change(destination, False)

    def tick(self, now: float | None = None) -> None:
        """Log the warnings that are due (an episode past the threshold, a repeat past its interval)."""
        now = self.clock() if now is None else now
        with self._lock:
            names = list(self._episodes)
        for name in names:
            self._warn_if_due(name, now)

    # -- reading ------------------------------------------------------------------------------------

    def episodes(self) -> dict[str, Episode]:
        """Every destination failing now (past the threshold or not)."""
        with self._lock:
            return dict(self._episodes)

    def failing(self, now: float | None = None) -> dict[str, Episode]:
        """The destinations failing for at least ``warn_after`` seconds."""
        now = self.clock() if now is None else now
        return {d: ep for d, ep in self.episodes().items() if ep.seconds(now) >= self.warn_after}

    # -- internals ----------------------------------------------------------------------------------

    def _warn_if_due(self, destination: str, now: float) -> None:
        with self._lock:
            ep = self._episodes.get(destination)
            if ep is None or ep.seconds(now) < self.warn_after:
                return
            if ep.warned_at is not None and now - ep.warned_at < self.repeat_every:
                return
            first = ep.warned_at is None
            ep = self._episodes[destination] = replace(ep, warned_at=now, warnings=ep.warnings + 1)
        self.log.warning(
            "destination %r: deliveries %s for %.0fs: %s (%d failed request(s)); units stay queued and are retried",
            destination, "have failed" if first else "still failing", ep.seconds(now), ep.answer, ep.failures,
            extra={"fields": {"destination": destination, "status": ep.status, "reason": ep.reason,
                              "failing_seconds": round(ep.seconds(now), 1), "failed_requests": ep.failures,
                              "event": "destination_failing"}})
        if first and self.on_change is not None:
            self.on_change(destination, True)
