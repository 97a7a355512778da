"""Open-ended payloads: validation either returns a payload or raises PayloadValidationError."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from amprelay.fields import PayloadValidationError, compile_validator, dayjs_utc_value, is_date_like

from .helpers import PURCHASE_FIELDS

validate = compile_validator(PURCHASE_FIELDS)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["", "1", "2.0", "true", "false", "auto", "use_mapping", "2023-05-01", "1e3", "Infinity"]),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
keys = st.sampled_from([*PURCHASE_FIELDS, "unknown", ""])
payloads = st.dictionaries(keys, json_values, max_size=8)


@settings(max_examples=400, deadline=None)
@given(payloads)
def test_only_payload_validation_errors(payload: dict[str, Any]) -> None:
    before = copy.deepcopy(payload)
    try:
        out = validate(payload)
    except PayloadValidationError as exc:
        assert str(exc) and exc.errors
        assert str(exc) == " ".join(e.message for e in exc.errors)
    else:
        assert set(out) <= set(PURCHASE_FIELDS)
        assert "event_type" in out and isinstance(out["event_type"], str)
    assert repr(payload) == repr(before)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), st.text(alphabet="0123456789-/:.+ TZtzGMTUCamp()", max_size=30)))
def test_date_functions_total(s: str) -> None:
    v = dayjs_utc_value(s)
    assert v != v or (isinstance(v, int) and abs(v) <= 8.64e15)
    assert isinstance(is_date_like(s), bool)


def _outcome(fn: Any, payload: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", fn(payload)
    except PayloadValidationError as exc:
        return "error", str(exc)


@settings(max_examples=400, deadline=None)
@given(payloads)
def test_fast_paths_agree_with_the_exact_emulation(payload: dict[str, Any]) -> None:
    fast = _outcome(validate, payload)
    exact = _outcome(validate.exact, payload)
    assert repr(fast) == repr(exact)
