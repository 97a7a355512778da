"""Mapping and validation in one pass (``CompiledAction`` with a checked root) gives the payload,
or the error, of the two steps one after the other: resolve the mapping, then validate."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from amprelay.destination import ACTIONS, PRESETS
from amprelay.engine import ActionError, CompiledAction
from amprelay.fields import default_mapping
from tests.destination.helpers import track
from tests.mapping.test_hypothesis import loose_events, structured_events


def _pairs() -> list[tuple[CompiledAction, CompiledAction]]:
    mappings = [(p.action, p.mapping) for p in PRESETS]
    mappings += [(key, default_mapping(a.fields)) for key, a in ACTIONS.items()]
    # a mapping with undeclared keys, constants, an empty object and a nested @if (values the
    # validator drops, coerces or rejects)
    mappings.append(("logEventV2", {
        "event_type": {"@path": "$.event"}, "unknown": {"@path": "$.properties"}, "time": 5,
        "user_id": {"@if": {"exists": {"@path": "$.userId"}, "then": {"@path": "$.userId"}, "else": 12}},
        "setOnce": {}, "session_id": "12", "min_id_length": {"@path": "$.properties.price"},
        "products": {"@path": "$.properties.products"},
        "setAlways": {"referrer": 5, "utm_source": {"@path": "$.properties.price"}, "x": {"@path": "$.context"},
                      "utm_term": {"@if": {"exists": {"@path": "$.userId"}, "then": {"@path": "$.traits"}}}},
        "library2": {"behavior": {"@path": "$.event"}, "mapping": {"@path": "$.properties.price"}},
        "userAgentData": {"model": {"@path": "$.properties.quantity"}, "platformVersion": None},
    }))
    pairs = []
    for key, mapping in mappings:
        checked = CompiledAction(key, mapping)
        checked.compile_one_pass()
        two_steps = CompiledAction(key, mapping)
        two_steps.use_two_steps()
        pairs.append((checked, two_steps))
    return pairs


PAIRS = _pairs()


def _outcome(action: CompiledAction, event: Any) -> tuple[str, Any]:
    try:
        return "ok", repr(action.payload(event))
    except ActionError as exc:
        return type(exc).__name__, str(exc)


def test_presets_take_the_one_pass_path() -> None:
    for checked, _ in PAIRS:
        assert checked._checked is not None
    action = CompiledAction("logEventV2", next(p.mapping for p in PRESETS if p.name == "Track Calls"))
    assert action._checked is None  # built at the second event, not for a mapping run once
    action.payload(track())
    action.payload(track())
    assert action._checked is not None and action._checked(track()) is not None


_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.sampled_from(["", "x"]))
# events whose values the preset mappings read into object fields (setOnce, setAlways, library2,
# userAgentData) are scalars of every kind, null and empty strings included
web_events = st.fixed_dictionaries({"type": st.just("track"), "event": st.sampled_from(["Song Played", ""])}, optional={
    "userId": _scalar,
    "properties": st.dictionaries(st.sampled_from(["price", "quantity", "revenue"]), _scalar, max_size=3),
    "context": st.fixed_dictionaries({}, optional={
        "page": st.fixed_dictionaries({}, optional={"referrer": _scalar}),
        "campaign": st.dictionaries(st.sampled_from(["source", "medium", "name", "term", "content"]), _scalar),
        "library": st.fixed_dictionaries({}, optional={"name": _scalar}),
        "userAgentData": st.dictionaries(st.sampled_from(["model", "platformVersion"]), _scalar),
    }),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(structured_events, loose_events, web_events), st.sampled_from(range(len(PAIRS))))
def test_one_pass_agrees_with_mapping_then_validation(event: dict[str, Any], index: int) -> None:
    checked, two_steps = PAIRS[index]
    assert _outcome(checked, event) == _outcome(two_steps, event)


@example({"type": "track", "event": "x", "context": {"page": {"referrer": None}, "campaign": {"source": ""}}})
@example({"type": "track", "event": "x", "context": {"campaign": {"name": 19.0, "term": 1.5}}})
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(web_events)
def test_one_pass_agrees_for_the_presets_object_fields(event: dict[str, Any]) -> None:
    for checked, two_steps in PAIRS:
        assert _outcome(checked, event) == _outcome(two_steps, event)
