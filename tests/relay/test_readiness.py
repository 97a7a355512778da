"""/ready as a list of named checks: each check's outcome in the JSON, 503 when one fails."""

from __future__ import annotations

import httpx

from amprelay.relay.readiness import (
    AdmissionCheck,
    CheckResult,
    Readiness,
    StoreWriteCheck,
    UndeliveredAgeCheck,
)
from amprelay.store.base import QueueStats


class Store:
    def __init__(self, write_error: str | None = None):
        self.write_error = write_error


def _stats(oldest: float | None, depth: int = 3):
    return lambda: QueueStats(depth=depth, oldest_created_at=oldest)


def test_every_check_passing_is_200_with_details():
    report = Readiness([AdmissionCheck(lambda: None), StoreWriteCheck([Store(), None]),
                        UndeliveredAgeCheck(_stats(95.0), max_age=10)], clock=lambda: 100.0).evaluate()
    assert report.ok
    assert report.body() == {"ready": True, "reason": "ok", "checks": {
        "admission": {"ok": True}, "store": {"ok": True},
        "oldest_undelivered": {"ok": True, "age_seconds": 5.0, "max_age_seconds": 10, "depth": 3}}}


def test_failing_checks_name_themselves_and_a_check_that_raises_is_a_failure():
    def broken(now: float) -> CheckResult:
        raise RuntimeError("database is locked")

    broken.name = "custom"  # type: ignore[attr-defined]
    report = Readiness([StoreWriteCheck([Store("database or disk is full")]),
                        UndeliveredAgeCheck(_stats(0.0), max_age=60), broken], clock=lambda: 100.0).evaluate()
    body = report.body()
    assert not report.ok and body["ready"] is False
    assert body["reason"] == ("store: the store cannot write: database or disk is full; oldest_undelivered: the "
                              "oldest undelivered unit is 100s old (over 60s); custom: the check failed: database "
                              "is locked")
    assert body["checks"]["oldest_undelivered"]["age_seconds"] == 100.0


def test_an_age_limit_of_zero_turns_the_age_check_off():
    assert Readiness([UndeliveredAgeCheck(_stats(0.0), max_age=0)], clock=lambda: 1e9).evaluate().ok


def test_the_relay_reports_a_store_that_cannot_write(start_relay):
    relay = start_relay()
    assert httpx.get(relay.url + "/ready").status_code == 200
    relay.service.relay.queue.db.write_error = "the store cannot write: database or disk is full"  # as a failed write sets it
    r = httpx.get(relay.url + "/ready")
    assert r.status_code == 503
    assert r.json()["checks"]["store"] == {"ok": False, "reason": "the store cannot write: database or disk is full"}
    relay.service.relay.queue.db.write_error = None
    assert httpx.get(relay.url + "/ready").status_code == 200
