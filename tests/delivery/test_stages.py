"""A delivery round's pure stages, each alone: park -> outcomes -> plan (amprelay.delivery.stages)."""

from __future__ import annotations

from amprelay.delivery.metrics import Metrics
from amprelay.delivery.responses import Action, Outcome, Verdict
from amprelay.delivery.settings import DeliverySettings
from amprelay.delivery.stages import (
    PARKED,
    UnitOutcome,
    backoff_delay,
    hold_key,
    park,
    plan_settlement,
    unit_outcomes,
)
from amprelay.store.base import Lease, RetryItem, UnitRoute

ROUTE = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                  (("api_key", "key-1"), ("events", None)))
NOW = 10_000.0


def lease(i: int, partition: str = "user-1", *, created_at: float = NOW - 5, attempts: int = 0) -> Lease:
    return Lease(i, ROUTE, b"{}", partition, f"m{i}", created_at, attempts, None, token=100 + i)


def test_park_holds_the_units_behind_a_partition_that_failed_this_round():
    a, b, c = lease(1, "u1"), lease(2, "u2"), lease(3, "u1")
    assert park([a, b, c], set()) == ([], [a, b, c])
    parked, rest = park([a, b, c], {"u1"})
    assert parked == [UnitOutcome(a, PARKED), UnitOutcome(c, PARKED)] and rest == [b]
    assert [p.lease for p in parked] == [a, c] and {p.outcome for p in parked} == {PARKED}
    assert park([b], {"u1"}) == ([], [b])


def test_unit_outcomes_pair_each_unit_with_its_verdict_and_hold_back_failed_partitions():
    a, b, c = lease(1, "u1"), lease(2, "u2"), lease(3, "u3")
    verdict = Verdict(400, (Outcome(Action.DONE), Outcome(Action.DEAD, "invalid"), Outcome(Action.BACKOFF, "5xx")))
    held: set[str] = set()
    assert unit_outcomes([a, b, c], verdict, held) == [
        UnitOutcome(a, Outcome(Action.DONE)), UnitOutcome(b, Outcome(Action.DEAD, "invalid")),
        UnitOutcome(c, Outcome(Action.BACKOFF, "5xx"))]
    assert held == {"u3"}  # done and dead units free their partition; a retry holds it


def test_hold_key_is_the_destination_and_its_api_key():
    assert hold_key(ROUTE) == ("amp", "key-1")
    assert hold_key(UnitRoute("eu", "POST", "u", "form", "identification", True, ())) == ("eu", "")


def test_backoff_doubles_up_to_the_cap_with_jitter():
    assert backoff_delay(0, 1.0, 600.0, 1.0) == 1.0
    assert backoff_delay(3, 1.0, 600.0, 0.0) == 4.0  # half of 8
    assert backoff_delay(50, 1.0, 600.0, 1.0) == 600.0


def test_plan_settlement_acks_retries_and_dead_letters_in_one_transaction():
    done, dead, resend, backoff, throttled = (lease(i, f"u{i}") for i in range(1, 6))
    held_route_unit = lease(6, "u6")
    results = [(done, Outcome(Action.DONE)), (dead, Outcome(Action.DEAD, "invalid user_id")),
               (resend, PARKED), (backoff, Outcome(Action.BACKOFF, "503")),
               (throttled, Outcome(Action.THROTTLED, "429", delay=30.0)),
               (held_route_unit, Outcome(Action.HOLD, "invalid api key"))]
    m = Metrics()
    plan = plan_settlement(results, NOW, DeliverySettings(), m, {("amp", "key-1"): NOW + 42}, lambda: 1.0,
                           observed=True)
    assert plan.acks == [1] and plan.deads == [(2, "invalid user_id")]
    assert plan.retries == [RetryItem(3, NOW, None, False), RetryItem(4, NOW + 1.0, "503", True),
                            RetryItem(5, NOW + 45.0, "429", True), RetryItem(6, NOW + 42, "invalid api key", False)]
    assert plan.tokens == {i: 100 + i for i in range(1, 7)}
    assert plan.delivered == {"amp": 1} and plan.latencies == [5.0]
    assert plan.seen == [(done, "delivered", ""), (dead, "dead", "invalid user_id"),
                         (resend, "retrying", PARKED.reason), (backoff, "retrying", "503"),
                         (throttled, "retrying", "429"), (held_route_unit, "retrying", "invalid api key")]
    # nothing is counted before the write: the counters are only looked up
    assert m.registry.get_sample_value("amprelay_units_retried_total", {"destination": "amp", "reason": "error"}) in (None, 0)
    for counter in plan.counted:
        counter.inc()
    assert m.registry.get_sample_value("amprelay_units_retried_total", {"destination": "amp", "reason": "error"}) == 1
    assert m.registry.get_sample_value("amprelay_units_throttled_total", {"destination": "amp"}) == 1


def test_plan_settlement_dead_letters_what_is_past_its_maximum_age_and_shares_a_partitions_retry_time():
    s = DeliverySettings(max_age_seconds=3600.0, backoff_base_seconds=10.0)
    old = lease(1, "u1", created_at=NOW - 3600.0, attempts=4)
    first, second = lease(2, "u2", attempts=0), lease(3, "u2", attempts=5)
    draws = iter([1.0, 0.0])
    plan = plan_settlement([(old, Outcome(Action.BACKOFF, "timeout")), (first, Outcome(Action.BACKOFF, "503")),
                            (second, Outcome(Action.BACKOFF, "503"))], NOW, s, Metrics(), {}, lambda: next(draws),
                           observed=False)
    assert plan.deads == [(1, "undelivered after 5 attempt(s) over 1.0h (maximum age 1.0h); last error: timeout")]
    assert [r.not_before for r in plan.retries] == [NOW + 10.0, NOW + 10.0]  # the partition's first retry time
    assert plan.seen is None
