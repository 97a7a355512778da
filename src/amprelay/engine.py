"""Compiled subscriptions: trigger + action + mapping, compiled once, evaluated per event.

Per event the pipeline is the reference's (actions-core): resolve the mapping (mapping-kit),
remove empty values and validate/coerce the payload against the action's fields (ajv), then
``perform``. Nothing here does I/O: ``CompiledSubscription.run`` returns the
:class:`~amprelay.destination.request.AmplitudeRequest` objects to send.

The conformance harness (answers in the recorded cases' format) is :mod:`amprelay.conformance`.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amprelay.destination import (
    ACTIONS,
    MAX_SUBSCRIPTIONS,
    ActionDefinition,
    AmplitudeRequest,
    Context,
    Settings,
)
from amprelay.errors import AmprelayError
from amprelay.fields import NeedsExactPath, PayloadValidationError, compile_validator, default_mapping
from amprelay.js import js_numbers
from amprelay.mapping import (
    MappingRuntimeError,
    MappingValidationError,
    RootChecks,
    compile_mapping,
    validate_mapping,
)
from amprelay.triggers import compile_trigger


class ActionError(AmprelayError):
    """An event could not be turned into requests (``name`` as the reference's error class)."""

    name = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "message": self.message}


class UnknownActionError(ActionError):
    name = "UnknownAction"


class InvalidMappingError(ActionError):
    """The mapping document is invalid (found when compiling)."""

    name = "AggregateError"


class MappingEvaluationError(ActionError):
    """A directive failed while resolving the mapping for an event."""

    name = "Error"


class PayloadError(ActionError):
    """The resolved payload does not satisfy the action's fields (after coercion)."""

    name = "AggregateAjvError"


class InvalidEventError(ActionError):
    name = "TypeError"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as configured: ``mapping=None`` means the action's default mapping."""

    name: str
    trigger: str
    action_key: str
    mapping: dict[str, Any] | None = None
    enabled: bool = True


_MISSING = object()


def _never(_event: Any) -> bool:
    return False


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_audience_context(event: dict[str, Any]) -> None:
    """actions-core resolves audience membership (after validation, before perform) by
    destructuring ``{context: {personas: {...} = {}} = {}}`` from the event: a ``null`` context or
    a ``null`` ``context.personas`` throws a TypeError there."""
    context = event.get("context", _MISSING)
    if context is None:
        raise InvalidEventError("Cannot destructure property 'personas' of '{}' as it is null.")
    if type(context) is dict and context.get("personas", _MISSING) is None:
        raise InvalidEventError("Cannot read properties of null (reading 'computation_class')")


class _Unnormalised(dict):  # type: ignore[type-arg]
    """A payload whose numbers could not be normalised (see :meth:`CompiledAction.payload`):
    its requests take the exact serialisation."""

    __slots__ = ()


class CompiledAction:
    """An action with its mapping compiled: ``run(event, settings)`` -> requests."""

    __slots__ = ("action", "mapping", "_evaluate", "_validate", "_compiled", "_checked", "_uses", "_perform", "_ctx")

    def __init__(self, action_key: str, mapping: dict[str, Any] | None) -> None:
        action = ACTIONS.get(action_key)
        if action is None:
            raise UnknownActionError(f"Unknown action: {action_key}")
        self.action: ActionDefinition = action
        if mapping is None:
            mapping = default_mapping(action.fields)
        elif not isinstance(mapping, dict):
            raise InvalidMappingError("The mapping must be an object")
        self.mapping = mapping
        try:
            validate_mapping(mapping)
            compiled = compile_mapping(mapping)
        except MappingValidationError as exc:
            raise InvalidMappingError(str(exc)) from exc
        self._evaluate = compiled.evaluate
        validator = compile_validator(action.fields)
        self._validate = validator
        # mapping and validation in one pass (the two steps above when it cannot decide), built
        # at the second event: a mapping run once (preview, the event tester) is not compiled twice
        self._compiled = compiled
        self._checked: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
        self._uses = 0
        self._perform = action.perform
        self._ctx = Context(0)

    def payload(self, event: Any) -> dict[str, Any]:
        """The validated payload ``perform`` receives for ``event``, its numbers as
        :func:`amprelay.js.js_number` gives them (the same JavaScript values: what lets the
        requests be serialised without a fix-up pass, see :func:`run`)."""
        if not isinstance(event, dict):
            kind = "null" if event is None else type(event).__name__
            raise InvalidEventError(f"Cannot read properties of {kind} (reading 'context')")
        checked = self._checked
        if checked is None and self._uses < 2:
            checked = self._one_pass()
        if checked is not None and type(event) is dict:
            return self._checked_payload(checked, event)
        return self._two_steps(event)

    def _checked_payload(self, checked: Callable[[dict[str, Any]], dict[str, Any] | None],
                         event: dict[str, Any]) -> dict[str, Any]:
        """The one pass's payload, or the two steps' when the one pass leaves it to them."""
        try:
            payload = checked(event)
        except (NeedsExactPath, RecursionError):
            payload = None
        except MappingRuntimeError as exc:
            raise MappingEvaluationError(str(exc)) from exc
        return self._two_steps(event) if payload is None else payload

    def _two_steps(self, event: Any) -> dict[str, Any]:
        """Resolve the mapping, then validate (for a mapping with no one pass, or when the one
        pass leaves it to the exact path)."""
        try:
            resolved = self._evaluate(event)
        except MappingRuntimeError as exc:
            raise MappingEvaluationError(str(exc)) from exc
        try:
            payload = self._validate(resolved)
        except PayloadValidationError as exc:
            raise PayloadError(str(exc)) from exc
        # the one pass copies and coerces numbers as js_number does; the closure tree does not
        try:
            return js_numbers(payload)
        except RecursionError:  # nested beyond the interpreter's limit: left as it is
            return _Unnormalised(payload)

    def _one_pass(self) -> Callable[[dict[str, Any]], dict[str, Any] | None] | None:
        self._uses += 1
        if self._uses == 2:
            self.compile_one_pass()
        return self._checked

    def compile_one_pass(self) -> bool:
        """Build the one-pass function now (else it is built at the second event); whether the
        mapping has one (its root is a plain object)."""
        self._uses = 2
        self._checked = self._compiled.checked(RootChecks(*self._validate.root_checks()))
        return self._checked is not None

    def use_two_steps(self) -> None:
        """Always map, then validate (the reference's two steps; what the one pass is checked against)."""
        self._uses = 2
        self._checked = None

    def run(self, event: Any, settings: Settings, now_ms: int | None = None) -> list[AmplitudeRequest]:
        checked = self._checked
        if checked is not None and type(event) is dict:  # payload()'s common case
            payload = self._checked_payload(checked, event)
        else:
            payload = self.payload(event)
        context = event.get("context", _MISSING)
        if context is None or (type(context) is dict and context.get("personas", _MISSING) is None):
            _check_audience_context(event)  # raises
        if now_ms is None:
            now_ms = _now_ms()
        ctx = self._ctx
        if ctx.now_ms != now_ms:  # one Context per distinct "now" (frozen: safe to share)
            ctx = self._ctx = Context(now_ms)
        requests = self._perform(payload, settings, ctx)
        # the payload's numbers are as JavaScript writes them, and so are the actions' own (their
        # arithmetic goes through js_number); the api key is the settings' raw value
        key = settings.api_key
        if type(payload) is not _Unnormalised and (type(key) is str or js_numbers(key) is key):
            for request in requests:
                request.js_numbers = True
        return requests


class CompiledSubscription:
    """A subscription ready to evaluate: ``matches(event)`` then ``run(event, settings)``."""

    __slots__ = ("subscription", "action", "trigger_error", "matches", "run")

    #: ``matches(event)``: whether the subscription is enabled, its trigger valid and matching
    #: ``event`` (the trigger's compiled function itself: one call per event and subscription)
    matches: Callable[[dict[str, Any]], bool]
    #: ``run(event, settings, now_ms=None)``: the requests for ``event`` (raises an
    #: :class:`ActionError` subclass on failure); the action's own :meth:`CompiledAction.run`,
    #: no call in between
    run: Callable[..., list[AmplitudeRequest]]

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.action = CompiledAction(subscription.action_key, subscription.mapping)
        trigger = compile_trigger(subscription.trigger)
        self.trigger_error: str | None = None if trigger.error is None else trigger.error.message
        matcher = trigger.matches
        if not subscription.enabled or self.trigger_error is not None:
            matcher = _never
        self.matches = matcher
        self.run = self.action.run

    @property
    def name(self) -> str:
        return self.subscription.name

    @property
    def action_key(self) -> str:
        return self.subscription.action_key


def compile_subscription(subscription: Subscription) -> CompiledSubscription:
    """Compile trigger, mapping and field validator once (raises :class:`ActionError` for an
    unknown action or an invalid mapping; an invalid trigger is kept as ``trigger_error`` and
    never matches, as in the reference)."""
    return CompiledSubscription(subscription)


class TooManySubscriptionsError(ActionError):
    name = "ValidationError"


def compile_subscriptions(subscriptions: list[Subscription]) -> list[CompiledSubscription]:
    """Compile a destination instance's subscriptions (at most ``MAX_SUBSCRIPTIONS``, as the
    reference's destinations accept)."""
    if len(subscriptions) > MAX_SUBSCRIPTIONS:
        raise TooManySubscriptionsError(
            f"A destination instance accepts at most {MAX_SUBSCRIPTIONS} subscriptions, got {len(subscriptions)}"
        )
    return [compile_subscription(s) for s in subscriptions]


#: The cyclic collector's thresholds in a process that transforms events (:func:`settle_heap`).
GC_THRESHOLDS = (50_000, 50, 100)


def settle_heap() -> None:
    """The collector's policy of the relay's processes (and of the transform benchmark, which
    measures them): messages are trees of dicts and lists without cycles, made by the thousand
    per request, and the cyclic collector's full passes over them are pure pauses. Collect once,
    keep what exists now (startup's objects) out of its sight, and let it run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
