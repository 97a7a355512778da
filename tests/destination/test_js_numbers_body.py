"""Requests the engine builds are serialised with no fix-up pass (``js_body_bytes``): the payload
and the actions' arithmetic hold numbers as :func:`amprelay.js.js_number` gives them, and then
orjson writes what ``JSON.stringify`` writes. Checked here against the exact writer
(``amprelay.js.json.dumps`` of ``jsify``: every number through ``Number::toString``) for random
events full of the numbers orjson writes differently (integral floats, ``-0``, beyond 2**53,
``[1e-6, 1e-5)``, numeric strings a field coerces), through every action, preset, default mapping
and the conformance cases' mappings, on the one-pass and the two-step path."""

from __future__ import annotations

import glob
import json
import math
import os
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from amprelay.delivery.units import requests_to_units
from amprelay.destination import ACTIONS, PRESETS, Settings
from amprelay.destination.request import AmplitudeRequest, js_body_bytes, jsify, to_json_bytes
from amprelay.engine import ActionError, CompiledAction
from amprelay.fields import default_mapping
from amprelay.js import js_number, js_numbers, number_to_string
from amprelay.js.json import dumps as exact_dumps
from tests.mapping.helpers import CONFORMANCE, load_jsonl
from tests.mapping.test_hypothesis import KEYS

NOW_MS = 1704067200000


def _exact(obj: Any) -> bytes:
    return exact_dumps(jsify(obj))


def _mappings() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [(p.action, p.mapping) for p in PRESETS]
    out += [(key, default_mapping(a.fields)) for key, a in ACTIONS.items()]
    # float constants, and values of the closure tree (directives the one pass delegates)
    out.append(("logEventV2", {
        "event_type": {"@path": "$.event"}, "user_id": {"@path": "$.userId"}, "time": 1.0,
        "event_properties": {"a": -0.0, "b": 2.0 ** 60, "c": 1e-6, "d": [3.0, {"e": 1e20}],
                             "f": {"@path": "$.properties"}, "g": {"@json": {"mode": "decode", "value": {"@path": "$.name"}}},
                             "h": {"@merge": {"objects": [{"@path": "$.traits"}, {"@path": "$.properties"}],
                                              "direction": "right"}},
                             "i": {"@arrayPath": ["$.properties.products", {"p": {"@path": "$.price"}}]},
                             "j": {"@arrayPath": ["$.properties.price", {"p": {"@path": "$.price"}}]},
                             "k": {"@flatten": {"value": {"@path": "$.properties"}, "separator": "."}}},
        "user_properties": {"@if": {"exists": {"@path": "$.traits"}, "then": {"@path": "$.traits"}, "else": 7.0}},
        "session_id": {"@path": "$.properties.quantity"}, "price": {"@path": "$.properties.price"},
        "quantity": {"@path": "$.properties.quantity"}, "revenue": {"@path": "$.properties.revenue"},
        "min_id_length": {"@path": "$.properties.price"},
    }))
    seen: dict[str, tuple[str, Any]] = {}
    for path in sorted(glob.glob(os.path.join(CONFORMANCE, "cases", "*.jsonl"))):
        for case in load_jsonl(path):
            if case.get("kind") == "action" and case.get("action") in ACTIONS and isinstance(case.get("mapping"), dict):
                seen.setdefault(json.dumps([case["action"], case["mapping"]], sort_keys=True),
                                (case["action"], case["mapping"]))
    cases = list(seen.values())
    out += cases[:: max(1, len(cases) // 150)]  # a deterministic spread of the cases' mappings
    return out


def _compiled() -> list[CompiledAction]:
    actions = []
    for key, mapping in _mappings():
        try:
            one_pass = CompiledAction(key, mapping)
            two_steps = CompiledAction(key, mapping)
        except ActionError:
            continue
        one_pass.compile_one_pass()
        two_steps.use_two_steps()
        actions += [one_pass, two_steps]
    return actions


ACTIONS_UNDER_TEST = _compiled()
SETTINGS = Settings.from_dict({"apiKey": "k", "secretKey": "s", "endpoint": "north_america"})

# what orjson writes differently from JSON.stringify, unless normalised first
tricky_floats = st.one_of(
    st.integers(-(2**70), 2**70).map(float),
    st.just(-0.0),
    st.floats(1e-6, 1e-5, exclude_max=True).flatmap(lambda x: st.sampled_from([x, -x])),
    st.floats(2.0**53, 1e22).flatmap(lambda x: st.sampled_from([x, -x])),
    st.floats(allow_nan=False, allow_infinity=False),
)
numbers = st.one_of(
    tricky_floats,
    st.integers(-(2**60), 2**60),
    st.sampled_from(["1e17", "-0", "1.0", "0.000001", "9007199254740993", "2e21", "12", "1e-7"]),
)
scalars = st.one_of(numbers, st.none(), st.booleans(), st.sampled_from(["", "x", "2023-05-01T00:00:00.000Z", "ios"]))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["price", "quantity", "revenue", "id", "a", "session_id", "min_id_length"]),
                        children, max_size=4),
    ),
    max_leaves=10,
)
number_keys = ["price", "quantity", "revenue", "revenueType", "productId", "products", "session_id", "min_id_length"]
events = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]),
     "event": st.sampled_from(["Order Completed", "Song Played"])},
    optional={
        **{k: values for k in KEYS if k not in ("type", "event")},
        "properties": st.fixed_dictionaries({}, optional={k: values for k in number_keys}),
        "traits": st.dictionaries(st.sampled_from(["age", "score", "a"]), values, max_size=3),
        "context": st.fixed_dictionaries({}, optional={k: values for k in [
            "device", "library", "campaign", "page", "os", "app", "location", "userAgentData", "traits"]}),
        "integrations": st.fixed_dictionaries({}, optional={"Actions Amplitude": st.fixed_dictionaries(
            {}, optional={"session_id": numbers})}),
    },
)


def _floats(value: Any) -> list[float]:
    if type(value) is dict:
        return [f for v in value.values() for f in _floats(v)]
    if type(value) is list:
        return [f for v in value for f in _floats(v)]
    return [value] if type(value) is float else []


def _check(action: CompiledAction, event: dict[str, Any]) -> None:
    try:
        requests = action.run(event, SETTINGS, NOW_MS)
    except ActionError:
        return
    for request in requests:
        assert request.js_numbers
        if request.encoding == "json":
            # the invariant itself (the serialisation alone could hide a break: a body with an
            # int beyond 2**53 or a float in [1e-6, 1e-5) takes the exact writer as a whole)
            assert [f for f in _floats(request.json) if f.is_integer() and abs(f) < 1e21] == [], event
            assert request.body_bytes() == _exact(request.json), (action.action.key, event)
            assert request.body_bytes() == to_json_bytes(request.json)
            # and so are its queue units' entries (delivery batches them as they are stored)
            events = request.json.get("events") if request.json else None
            if isinstance(events, list):
                units = requests_to_units("amp", "", [request], stable_insert_id=False)
                assert [u.entry for u in units] == [_exact(e) for e in events], (action.action.key, event)


@example({"type": "track", "event": "Order Completed",
          "properties": {"price": 0.5, "quantity": 2, "revenue": -0.0, "session_id": 2.0 ** 60}}, 0)
@example({"type": "track", "event": "Order Completed", "properties": {"price": "1e17", "quantity": 2, "revenue": 1.5e-6}}, 0)
@example({"type": "track", "event": "Order Completed", "properties": {"price": "1e17", "quantity": 2, "revenue": 1.5e-6}}, 1)
@example({"type": "track", "event": "Order Completed", "properties": {"price": "2e16", "quantity": "-0"}}, 2)
@example({"type": "track", "event": "Order Completed", "properties": {"price": "2e16", "revenue": 5}}, 2)
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events, st.sampled_from(range(len(ACTIONS_UNDER_TEST))))
def test_engine_requests_serialise_as_json_stringify(event: dict[str, Any], index: int) -> None:
    _check(ACTIONS_UNDER_TEST[index], event)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events)
def test_every_mapping_on_one_event(event: dict[str, Any]) -> None:
    for action in ACTIONS_UNDER_TEST:
        _check(action, event)


@given(st.floats())
@example(-0.0)
@example(2.0 ** 60)
@example(1e21)
@example(1.5e-6)
def test_js_number_is_written_by_orjson_as_number_to_string(x: float) -> None:
    n = js_number(x)
    assert n == x or (math.isnan(x) and math.isnan(n))
    if math.isnan(x) or math.isinf(x):
        assert orjson.dumps(n) == b"null"
    elif type(n) is int and abs(n) > 2**53:
        assert float(n) == x  # orjson's strict-integer mode refuses it: the exact writer takes it
    elif 1e-6 <= abs(x) < 1e-5:
        assert b"e-6" in orjson.dumps(n)  # js_body_bytes looks for it
    else:
        assert orjson.dumps(n).decode() == number_to_string(x)


@given(values)
def test_js_body_bytes_equals_the_exact_writer_on_normalised_data(value: Any) -> None:
    assert js_body_bytes(js_numbers(value)) == _exact(value)


def test_js_numbers_copies_only_what_changes() -> None:
    inner = {"a": 1.5, "b": "x"}
    data = {"keep": inner, "list": [1, 2.0], "s": "1.0"}
    out = js_numbers(data)
    assert out == {"keep": inner, "list": [1, 2], "s": "1.0"} and type(out["list"][1]) is int
    assert out["keep"] is inner and data["list"][1] == 2.0 and type(data["list"][1]) is float
    assert js_numbers(inner) is inner


def test_a_tiny_number_in_a_string_is_not_a_number() -> None:
    assert js_body_bytes({"id": "3fe-6a", "n": 1}) == b'{"id":"3fe-6a","n":1}'
    assert js_body_bytes({"id": 'x"e-6', "n": 1.5e-6}) == b'{"id":"x\\"e-6","n":0.0000015}'


def test_requests_built_outside_the_engine_take_the_exact_writer() -> None:
    request = AmplitudeRequest("POST", "https://x", "json", json={"a": 1.0, "b": 1e16})
    assert not request.js_numbers and request.body_bytes() == b'{"a":1,"b":10000000000000000}'


def test_a_float_api_key_is_not_trusted() -> None:
    action = ACTIONS_UNDER_TEST[0]
    event = {"type": "track", "event": "x", "userId": "u"}
    requests = action.run(event, Settings.from_dict({"apiKey": 1.0}), NOW_MS)
    assert requests and not any(r.js_numbers for r in requests)
    assert requests[0].body_bytes().startswith(b'{"api_key":1,')
