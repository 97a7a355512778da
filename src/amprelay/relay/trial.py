"""Try an event against the running configuration without sending or storing anything: which
destinations and subscriptions fire and the exact requests each would send (the console's event
tester). The same compiled subscriptions and engine calls as the relay and `amprelay preview`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from amprelay.delivery.insert_id import base_insert_id, fill_insert_ids
from amprelay.destination.request import AmplitudeRequest
from amprelay.engine import ActionError
from amprelay.relay.compiled import CompiledDestination
from amprelay.relay.routing import destination_enabled
from amprelay.spec import normalize_message, validate_message


@dataclass
class SubscriptionTrial:
    name: str
    action: str
    enabled: bool
    trigger: str
    trigger_error: str | None
    matched: bool
    requests: list[AmplitudeRequest] = field(default_factory=list)
    error: str | None = None  # the action's error (mapping, validation) when it matched
    insert_ids_added: bool = False  # the relay filled in stable insert_ids (delivery does the same)
    warnings: list[str] = field(default_factory=list)  # what Amplitude will refuse in these requests


@dataclass
class DestinationTrial:
    name: str
    skipped: str | None  # why the destination never sees the event, or None
    subscriptions: list[SubscriptionTrial] = field(default_factory=list)

    @property
    def fired(self) -> list[SubscriptionTrial]:
        return [s for s in self.subscriptions if s.matched]


@dataclass
class Trial:
    message: dict[str, Any] | None  # as ingest would store it (messageId, receivedAt, timestamp added)
    problems: list[str]  # why ingest would reject it; then nothing ran
    destinations: list[DestinationTrial] = field(default_factory=list)


def try_event(destinations: Sequence[CompiledDestination], event: Any, source: str | None = None, now: datetime | None = None,
              now_ms: int | None = None) -> Trial:
    """``destinations`` are the relay's compiled destinations (``Relay.destinations``)."""
    problems = validate_message(event)
    if problems:
        return Trial(None, problems)
    message = normalize_message(dict(event), received_at=now or datetime.now(UTC))
    trial = Trial(message, [])
    for dest in destinations:
        skipped = None
        if source is not None and dest.sources is not None and source not in dest.sources:
            skipped = f"it takes events only from {', '.join(sorted(dest.sources))}"
        elif not destination_enabled(message):
            skipped = "the event's integrations object turns it off"
        dt = DestinationTrial(dest.name, skipped)
        trial.destinations.append(dt)
        if skipped:
            continue
        for sub in dest.subscriptions:
            st = SubscriptionTrial(sub.name, sub.action_key, sub.subscription.enabled, sub.subscription.trigger,
                                   sub.trigger_error, sub.matches(message))
            dt.subscriptions.append(st)
            if not st.matched:
                continue
            try:
                requests = sub.run(message, dest.settings, now_ms)
            except ActionError as exc:
                st.error = f"{exc.name}: {exc.message}"
                continue
            if dest.stable_insert_id:
                requests, st.insert_ids_added = _with_insert_ids(requests, dest.name, sub.name,
                                                                 str(message.get("messageId") or ""))
            st.requests = requests
            st.warnings = [w for r in requests for w in amplitude_refusals(r)]
    return trial


DEFAULT_MIN_ID_LENGTH = 5  # Amplitude's, for user_id and device_id (and a mapping's ids)
ID_FIELDS = ("user_id", "device_id", "global_user_id")


def amplitude_refusals(request: AmplitudeRequest) -> list[str]:
    """Field values in ``request`` that Amplitude will refuse: ids shorter than the request's
    ``min_id_length`` (Amplitude's default 5)."""
    if request.encoding == "json":
        body = request.json or {}
        options = body.get("options")
        items = [("events", body.get("events"))]
    else:
        form = request.form or {}
        options = _json_or_none(form.get("options"))
        items = [(name, _json_or_none(form.get(name))) for name in ("identification", "mapping")]
    minimum = options.get("min_id_length") if isinstance(options, dict) else None
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum <= 0:
        minimum = DEFAULT_MIN_ID_LENGTH
    out: list[str] = []
    for name, value in items:
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            if not isinstance(item, dict):
                continue
            for key in ID_FIELDS:
                ident = item.get(key)
                if isinstance(ident, str | int) and not isinstance(ident, bool) and len(str(ident)) < minimum:
                    out.append(f"{name}[{index}].{key} {str(ident)!r} is shorter than {minimum} characters "
                               f"(min_id_length): Amplitude will refuse it")
    return out


def _json_or_none(text: str | None) -> Any:
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _with_insert_ids(requests: list[AmplitudeRequest], destination: str, subscription: str,
                     message_id: str) -> tuple[list[AmplitudeRequest], bool]:
    """The requests with the insert_ids delivery adds where the mapping left none
    (see :mod:`amprelay.delivery.insert_id`)."""
    out: list[AmplitudeRequest] = []
    added = False
    for index, req in enumerate(requests):
        events = (req.json or {}).get("events") if req.encoding == "json" else None
        if message_id and isinstance(events, list):
            filled = fill_insert_ids(events, base_insert_id(destination, subscription, message_id, index))
            if filled != events:
                added = True
                req = dataclasses.replace(req, json={**(req.json or {}), "events": filled})
        out.append(req)
    return out, added
