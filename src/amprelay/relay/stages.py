"""The stages of :meth:`amprelay.relay.runtime.Relay.transform`, for one message and one
destination: route -> match -> run (map + build units) -> record.

    if routed(dest, source):                     # the destination takes this source's messages
        for sub in matching(dest, message):      # triggers
            run = run_subscription(dest, sub, message, message_id, now_ms, created)  # SubscriptionRun
            fired.append(record_run(result, metrics, dest.name, run, message, message_id, created))  # Fired

Each stage is a function of its inputs (``record_run`` adds to the result and the counters);
the records between them are :class:`SubscriptionRun` and :class:`Fired`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from amprelay.delivery.metrics import Metrics
from amprelay.delivery.units import UnsupportedRequest, requests_to_units
from amprelay.engine import ActionError, CompiledSubscription
from amprelay.js.json import dumps, well_formed
from amprelay.masking import mask_text
from amprelay.relay.compiled import CompiledDestination
from amprelay.store.base import MessageClaims, NewUnit, UnitRoute

# Dead letters that never became an Amplitude request (an invalid message, a mapping error)
# are kept under a route of this method, so `amprelay dlq` lists them with the rest.
REJECTED_METHOD = "REJECTED"


@dataclass
class ProcessResult:
    units: list[NewUnit] = field(default_factory=list)
    dead: list[tuple[NewUnit, str]] = field(default_factory=list)
    matched: int = 0
    per_subscription: dict[str, int] = field(default_factory=dict)  # "destination/subscription" -> runs
    errors: dict[str, int] = field(default_factory=dict)  # reason -> count
    claims: MessageClaims | None = None  # messageId dedupe (ingest.dedupe_window), decided when stored
    repeated: dict[str, int] = field(default_factory=dict)  # source -> messages repeated within this result


class SubscriptionRun(NamedTuple):
    """What one matching subscription made of a message: its units, or why it made none."""

    subscription: CompiledSubscription
    units: list[NewUnit]
    error: str | None  # the action's error (a mapping or validation failure), None when it ran


class Fired(NamedTuple):
    """A subscription that ran, as the observer is told (``RelayObserver.on_message``)."""

    subscription: str
    action: str
    units: int
    error: str | None


def rejected_unit(destination: str, reason_kind: str, message: Any, message_id: str, now: float) -> NewUnit:
    """A dead-letter unit for something that never became a request."""
    route = UnitRoute(destination, REJECTED_METHOD, f"amprelay:{reason_kind}", "json", "message", True, ())
    partition = "rejected"
    if isinstance(message, dict):
        partition = str(message.get("userId") or message.get("anonymousId") or "rejected")
    return NewUnit(route, dumps(message, default=str), well_formed(partition), well_formed(message_id), now)


def routed(dest: CompiledDestination, source_name: str) -> bool:
    """The destination takes messages of this source (``sources:``; None: every source)."""
    return dest.sources is None or source_name in dest.sources


def matching(dest: CompiledDestination, message: dict[str, Any]) -> list[CompiledSubscription]:
    """The destination's subscriptions whose trigger matches, in order."""
    return [sub for sub in dest.subscriptions if sub.matches(message)]


def run_subscription(dest: CompiledDestination, sub: CompiledSubscription, message: dict[str, Any],
                     message_id: str, now_ms: int | None, created: float) -> SubscriptionRun:
    """Map the message with the subscription's action and split its requests into queue units."""
    try:
        requests = sub.run(message, dest.settings, now_ms)
        units = requests_to_units(dest.name, message_id, requests, subscription=sub.name,
                                  stable_insert_id=dest.stable_insert_id, created_at=created)
    except (ActionError, UnsupportedRequest) as exc:
        return SubscriptionRun(sub, [], exc.message)
    return SubscriptionRun(sub, units, None)


def record_run(out: ProcessResult, metrics: Metrics, destination: str, run: SubscriptionRun,
               message: dict[str, Any], message_id: str, created: float) -> Fired:
    """Add a run to the result (its units, or the message as a dead letter with the reason) and
    to the counters."""
    sub = run.subscription
    out.matched += 1
    key = f"{destination}/{sub.name}"
    out.per_subscription[key] = out.per_subscription.get(key, 0) + 1
    if run.error is not None:
        metrics.mapping_errors.labels(destination, sub.action_key).inc()
        reason = mask_text(well_formed(f"{sub.name} ({sub.action_key}): {run.error}"))
        out.errors[reason] = out.errors.get(reason, 0) + 1
        out.dead.append((rejected_unit(destination, "mapping", message, message_id, created), reason))
        return Fired(sub.name, sub.action_key, 0, run.error)
    metrics.child(metrics.mapped, destination, sub.action_key).inc()
    out.units.extend(run.units)
    return Fired(sub.name, sub.action_key, len(run.units), None)
