"""``/ready``: a list of named checks, each saying whether the relay can do its job now.

    readiness = Readiness([
        AdmissionCheck(relay.admission),                  # store over its size, disk nearly full
        StoreWriteCheck([queue, inbox]),                  # the store's last write failed
        UndeliveredAgeCheck(queue.stats, max_age=300),     # delivery is not keeping up
        FailingDestinationsCheck(delivery.health),        # detail only: never makes the relay unready
    ])
    report = readiness.evaluate()
    report.ok, report.body()   # 200 / 503 and the JSON ``/ready`` answers

A check returns a :class:`CheckResult`; a check that raises is a failed check with the
exception as its reason (a readiness probe never answers 500).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    reason: str = ""  # why not ready (empty when ok)
    details: dict[str, Any] = field(default_factory=dict)


class Check(Protocol):
    name: str

    def __call__(self, now: float) -> CheckResult: ...


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    ok: bool
    results: dict[str, CheckResult]

    @property
    def reasons(self) -> list[str]:
        return [f"{name}: {r.reason}" for name, r in self.results.items() if not r.ok]

    def body(self) -> dict[str, Any]:
        """``{"ready": bool, "reason": "ok" | "...; ...", "checks": {name: {"ok": ..., ...}}}``."""
        checks = {name: {"ok": r.ok, **({"reason": r.reason} if r.reason else {}), **r.details}
                  for name, r in self.results.items()}
        return {"ready": self.ok, "reason": "; ".join(self.reasons) or "ok", "checks": checks}


class Readiness:
    def __init__(self, checks: Sequence[Check], clock: Callable[[], float] = time.time):
        self.checks = list(checks)
        self.clock = clock

    def evaluate(self) -> ReadinessReport:
        now = self.clock()
        results: dict[str, CheckResult] = {}
        for check in self.checks:
            try:
                results[check.name] = check(now)
            except Exception as exc:  # noqa: BLE001 - a probe reports, it does not fail
                results[check.name] = CheckResult(False, f"the check failed: {exc}")
        return ReadinessReport(all(r.ok for r in results.values()), results)


@dataclass
class AdmissionCheck:
    """Ingest's own admission: the store over its size limit, the disk nearly full."""

    admission: Callable[[], str | None]
    name: str = "admission"

    def __call__(self, now: float) -> CheckResult:
        reason = self.admission()
        return CheckResult(reason is None, reason or "")


class WriteState(Protocol):
    """A store that says whether it writes (``Queue.write_error``; None once a write succeeds)."""

    @property
    def write_error(self) -> str | None: ...


@dataclass
class StoreWriteCheck:
    """The durable store can write: none of ``stores`` (None entries are skipped) reports a
    ``write_error`` (the text of its last failed write)."""

    stores: Iterable[WriteState | None]
    name: str = "store"

    def __call__(self, now: float) -> CheckResult:
        for store in self.stores:
            if store is None:
                continue
            error = store.write_error
            if error:
                text = str(error)
                return CheckResult(False, text if text.startswith("the store cannot write") else
                                   f"the store cannot write: {text}")
        return CheckResult(True)


@dataclass
class UndeliveredAgeCheck:
    """Delivery keeps up: the oldest undelivered unit is at most ``max_age`` seconds old
    (0 turns the check off)."""

    stats: Callable[[], Any]  # -> QueueStats
    max_age: float
    name: str = "oldest_undelivered"

    def __call__(self, now: float) -> CheckResult:
        st = self.stats()
        age = st.oldest_age(now)
        details = {"age_seconds": round(age, 1), "max_age_seconds": self.max_age, "depth": st.depth}
        if self.max_age > 0 and age > self.max_age:
            return CheckResult(False, f"the oldest undelivered unit is {age:.0f}s old (over {self.max_age:.0f}s)",
                               details)
        return CheckResult(True, "", details)


@dataclass
class FailingDestinationsCheck:
    """Destinations whose deliveries have been failing past the warning threshold, with
    Amplitude's last answer. Details only: a failing Amplitude makes the relay unready through
    the undelivered age, not by itself."""

    health: Any  # amprelay.delivery.health.DestinationHealth
    name: str = "destinations"

    def __call__(self, now: float) -> CheckResult:
        failing = {d: {"failing_seconds": round(ep.seconds(now), 1), "status": ep.status, "reason": ep.reason,
                       "failed_requests": ep.failures}
                   for d, ep in self.health.failing(now).items()}
        return CheckResult(True, "", {"failing": failing})


@dataclass
class WorkersCheck:
    """Every worker process (``serve --workers``) can write the store."""

    workers: Any  # amprelay.relay.workers.Workers
    name: str = "workers"

    def __call__(self, now: float) -> CheckResult:
        problem = self.workers.problem()
        return CheckResult(problem is None, problem or "")
