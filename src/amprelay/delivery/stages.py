"""The stages of a delivery round (:class:`amprelay.delivery.worker.DeliveryWorker`), as
functions with typed records between them:

    lease -> batch -> park -> send -> classify -> observe answer -> outcomes -> plan -> settle -> observe

- :func:`park`: units behind an earlier unit of their user/device that was not accepted in this
  round wait (:data:`PARKED`); the rest are sent.
- :func:`unit_outcomes`: Amplitude's verdict on a batch, one :class:`UnitOutcome` per unit
  (a unit that is not done nor dead holds its partition back for the rest of the round).
- :func:`plan_settlement`: a round's outcomes as one queue transaction (:class:`Settlement`:
  acks, retries with their backoff, dead letters) and what is counted and told once it is written.

The worker runs the stages that talk to Amplitude, the queue and the metrics; these are pure
(``plan_settlement`` looks up the counters it will bump, and draws the jitter from ``rng``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from prometheus_client import Counter

from amprelay.delivery.metrics import Metrics
from amprelay.delivery.observer import Settled
from amprelay.delivery.responses import Action, Outcome, Verdict
from amprelay.delivery.settings import DeliverySettings
from amprelay.store.base import Lease, RetryItem, UnitRoute

PARKED = Outcome(Action.RESEND, "waiting behind an earlier unit of the same user/device")


class UnitOutcome(NamedTuple):
    """What became of one leased unit in a round (settled by :func:`plan_settlement`)."""

    lease: Lease
    outcome: Outcome


@dataclass(slots=True)
class Settlement:
    """A round's outcomes as the queue writes them (one transaction), and what follows the write."""

    acks: list[int] = field(default_factory=list)
    retries: list[RetryItem] = field(default_factory=list)
    deads: list[tuple[int, str]] = field(default_factory=list)
    tokens: dict[int, int] = field(default_factory=dict)  # unit id -> its lease token
    counted: list[Counter] = field(default_factory=list)  # counter children, bumped once written (a refused
    # write is redone)
    delivered: dict[str, int] = field(default_factory=dict)  # destination -> units delivered
    latencies: list[float] = field(default_factory=list)  # seconds from enqueue to acceptance
    seen: list[tuple[Lease, Settled, str]] | None = None  # for the observer, when there is one


def hold_key(route: UnitRoute) -> tuple[str, str]:
    """An invalid API key holds the destination's units sent with that key."""
    for k, v in route.template:
        if k == "api_key":
            return route.destination, str(v)
    return route.destination, ""


def backoff_delay(attempts: int, base: float, cap: float, rnd: float) -> float:
    """Exponential backoff with jitter: between half and all of ``min(cap, base * 2**attempts)``."""
    d = min(cap, base * (2 ** min(attempts, 40)))
    return d * (0.5 + 0.5 * rnd)


def park(leases: Sequence[Lease], held_parts: set[str]) -> tuple[list[UnitOutcome], list[Lease]]:
    """(the units that wait behind their partition's earlier unit, the units to send)."""
    if not held_parts:
        return [], list(leases)
    rest = [u for u in leases if u.partition not in held_parts]
    if len(rest) == len(leases):
        return [], rest
    return [UnitOutcome(u, PARKED) for u in leases if u.partition in held_parts], rest


def unit_outcomes(leases: Sequence[Lease], verdict: Verdict, held_parts: set[str]) -> list[UnitOutcome]:
    """The verdict per unit; the partition of a unit not done (nor dead) joins ``held_parts``."""
    out: list[UnitOutcome] = []
    for u, o in zip(leases, verdict.outcomes, strict=True):
        out.append(UnitOutcome(u, o))
        if o.action is not Action.DONE and o.action is not Action.DEAD:
            held_parts.add(u.partition)
    return out


def plan_settlement(results: Sequence[tuple[Lease, Outcome]], now: float, s: DeliverySettings, m: Metrics,
                    held: Mapping[tuple[str, str], float], rng: Callable[[], float], *,
                    observed: bool) -> Settlement:
    """A round's outcomes as acks, retries (one retry time per partition: its units become due
    together) and dead letters, with the counters to bump and, when ``observed``, what the
    observer is told."""
    plan = Settlement(seen=[] if observed else None)
    acks, retries, deads, counted, seen = plan.acks, plan.retries, plan.deads, plan.counted, plan.seen
    delivered, latencies = plan.delivered, plan.latencies
    part_until: dict[str, float] = {}
    for u, o in results:
        dest = u.route.destination
        a = o.action
        if a is Action.DONE:
            acks.append(u.id)
            delivered[dest] = delivered.get(dest, 0) + 1
            latencies.append(max(0.0, now - u.created_at))
            if seen is not None:
                seen.append((u, "delivered", ""))
            continue
        if a is Action.DEAD:
            deads.append((u.id, o.reason))
            counted.append(m.dead_lettered.labels(dest))
            if seen is not None:
                seen.append((u, "dead", o.reason))
            continue
        if seen is not None and a is not Action.BACKOFF and a is not Action.THROTTLED:
            seen.append((u, "retrying", o.reason or a.value))
        if a is Action.RESEND or a is Action.SPLIT:
            retries.append(RetryItem(u.id, now, None, False))
            counted.append(m.retried.labels(dest, "resend"))
        elif a is Action.HOLD:
            retries.append(RetryItem(u.id, held.get(hold_key(u.route), now + s.hold_seconds), o.reason, False))
            counted.append(m.retried.labels(dest, "api_key"))
        else:  # BACKOFF, THROTTLED
            age = now - u.created_at
            if age >= s.max_age_seconds:
                deads.append((u.id, f"undelivered after {u.attempts + 1} attempt(s) over {age / 3600:.1f}h "
                                    f"(maximum age {s.max_age_seconds / 3600:.1f}h); last error: {o.reason}"))
                counted.append(m.dead_lettered.labels(dest))
                if seen is not None:
                    seen.append((u, "dead", deads[-1][1]))
                continue
            if seen is not None:
                seen.append((u, "retrying", o.reason))
            if a is Action.THROTTLED:
                delay = o.delay * (1.0 + 0.5 * rng())
                counted.append(m.throttled.labels(dest))
                counted.append(m.retried.labels(dest, "throttled"))
            else:
                delay = backoff_delay(u.attempts, s.backoff_base_seconds, s.backoff_max_seconds, rng())
                counted.append(m.retried.labels(dest, "error"))
            until = part_until.get(u.partition)
            if until is None:
                until = part_until[u.partition] = now + min(delay, max(0.0, s.max_age_seconds - age) + 1.0)
            retries.append(RetryItem(u.id, until, o.reason, True))
    plan.tokens = {u.id: u.token for u, _ in results}
    return plan
