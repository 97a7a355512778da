"""Open-ended payloads: validation either returns a payload or raises PayloadValidationError."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from amprelay.destination import ACTIONS
from amprelay.fields import (
    NeedsExactPath,
    PayloadValidationError,
    compile_validator,
    dayjs_utc_value,
    is_date_like,
)

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


def _shape_outcome(validator: Any, payload: dict[str, Any]) -> tuple[str, Any]:
    """What the straight-line code generated for this payload's shape (its keys in order) gives."""
    shape_fn = validator._shape_fn(tuple(payload))
    return _outcome(lambda p: shape_fn(p) if shape_fn(p) is not None else validator.exact(p), payload)


_ACTION_VALIDATORS = {key: compile_validator(action.fields) for key, action in ACTIONS.items()}
action_payloads = st.sampled_from(sorted(_ACTION_VALIDATORS)).flatmap(
    lambda key: st.tuples(
        st.just(key),
        st.dictionaries(st.sampled_from([*ACTIONS[key].fields, "unknown"]), json_values, max_size=10),
    )
)


@settings(max_examples=400, deadline=None)
@given(payloads)
@example({"event_type": "x", "price": 19.0, "quantity": "2", "time": "", "user_id": ""})
@example({"price": 1})
def test_generated_shape_code_agrees_with_the_exact_emulation(payload: dict[str, Any]) -> None:
    try:
        shaped = _shape_outcome(validate, payload)
    except NeedsExactPath:  # the caller re-runs the exact path
        return
    assert repr(shaped) == repr(_outcome(validate.exact, payload))


@settings(max_examples=400, deadline=None)
@given(action_payloads)
def test_every_actions_shape_code_agrees_with_the_exact_emulation(key_and_payload: tuple[str, dict[str, Any]]) -> None:
    key, payload = key_and_payload
    validator = _ACTION_VALIDATORS[key]
    try:
        shaped = _shape_outcome(validator, payload)
    except NeedsExactPath:
        return
    assert repr(shaped) == repr(_outcome(validator.exact, payload))


def test_a_repeated_shape_takes_generated_code_with_the_same_answers() -> None:
    validator = compile_validator(PURCHASE_FIELDS)
    payloads = [{"event_type": f"e{i}", "price": [1.5, "2", None, 3.0][i % 4], "user_id": ["u", ""][i % 2]} for i in range(12)]
    answers = [_outcome(validator, p) for p in payloads]
    assert validator._shapes  # the shape was seen often enough to be generated
    assert [repr(a) for a in answers] == [repr(_outcome(validator.exact, p)) for p in payloads]
