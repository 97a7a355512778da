"""Random events never crash the preset/fuzz mappings: the only allowed exception is
MappingRuntimeError. Also, the generated root and the closure tree always agree."""

from __future__ import annotations

import glob
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amprelay.mapping import MappingError, MappingRuntimeError, compile_mapping
from amprelay.mapping.compiler import build, prepare_mapping
from tests.mapping.helpers import CONFORMANCE, load_jsonl


def _mappings() -> list:
    seen: dict[str, object] = {}
    for path in sorted(glob.glob(os.path.join(CONFORMANCE, "cases", "*.jsonl"))):
        for case in load_jsonl(path):
            mapping = case.get("mapping")
            if isinstance(mapping, dict):
                seen.setdefault(json.dumps(mapping, sort_keys=True), mapping)
    return list(seen.values())


MAPPINGS = []
_ALL = _mappings()
for _m in _ALL[:: max(1, len(_ALL) // 250)]:  # a deterministic spread of ~250 distinct mappings
    try:
        MAPPINGS.append((compile_mapping(_m), build(prepare_mapping(_m), fast=False)))
    except MappingError:
        pass

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12), st.sampled_from(["", "0", "1e3", "ios", "2023-05-01", "{\"a\":1}", "Actions Amplitude"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["id", "name", "price", "quantity", "products", "a", "0", "", "length"]),
                        children, max_size=4),
    ),
    max_leaves=12,
)
KEYS = ["type", "event", "name", "userId", "anonymousId", "groupId", "timestamp", "messageId", "properties",
        "traits", "context", "integrations"]
loose_events = st.fixed_dictionaries({}, optional={k: json_values for k in KEYS})
structured_events = st.fixed_dictionaries(
    {},
    optional={
        **{k: json_values for k in KEYS},
        "context": st.fixed_dictionaries({}, optional={k: json_values for k in [
            "device", "library", "campaign", "page", "os", "app", "location", "userAgent", "userAgentData",
            "traits", "ip", "locale"]}),
        "properties": st.fixed_dictionaries({}, optional={k: json_values for k in [
            "products", "price", "quantity", "revenue", "revenueType", "productId", "title"]}),
        "integrations": st.fixed_dictionaries({}, optional={"Actions Amplitude": json_values}),
    },
)
events = st.one_of(structured_events, loose_events)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events, index=st.integers(min_value=0))
def test_random_events_never_crash(event, index):
    assert MAPPINGS
    fast, slow = MAPPINGS[index % len(MAPPINGS)]
    try:
        out_fast = fast.evaluate(event)
    except MappingRuntimeError:
        out_fast = "<error>"
    try:
        out_slow = slow.evaluate(event)
    except MappingRuntimeError:
        out_slow = "<error>"
    assert out_fast == out_slow


@settings(max_examples=100, deadline=None)
@given(event=events)
def test_all_mappings_on_one_event(event):
    for fast, _ in MAPPINGS[:50]:
        try:
            fast.evaluate(event)
        except MappingRuntimeError:
            pass
