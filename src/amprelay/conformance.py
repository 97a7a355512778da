"""Conformance answers: one case (``action`` / ``trigger`` / ``mapping``) answered in the format
of ``tests/conformance/README.md``, as the reference's recordings hold them. ``amprelay preview
--jsonl`` and the conformance tests use :func:`run_case`.

Compiled actions are cached by (action, mapping) so that a file of cases sharing mappings is
compiled once; the relay itself never goes through here (see :mod:`amprelay.engine`).
"""

from __future__ import annotations

from typing import Any

import orjson

from amprelay.destination import AmplitudeRequest, Settings
from amprelay.engine import ActionError, CompiledAction
from amprelay.js import json_round_trip
from amprelay.mapping import MappingRuntimeError, MappingValidationError, compile_mapping, validate_mapping
from amprelay.triggers import answer_trigger_case

__all__ = ["request_answer", "run_case"]

_ACTION_CACHE: dict[tuple[str, bytes], CompiledAction | ActionError] = {}
_CACHE_LIMIT = 512


def _compiled_action(action_key: str, mapping: Any) -> CompiledAction:
    key = (str(action_key), orjson.dumps(mapping))
    hit = _ACTION_CACHE.get(key)
    if hit is None:
        try:
            hit = CompiledAction(action_key, mapping)
        except ActionError as exc:
            hit = exc
        if len(_ACTION_CACHE) >= _CACHE_LIMIT:
            _ACTION_CACHE.clear()
        _ACTION_CACHE[key] = hit
    if isinstance(hit, ActionError):
        raise hit
    return hit


def request_answer(request: AmplitudeRequest) -> dict[str, Any]:
    return {"method": request.method, "url": request.url, "body": request.decoded_body()}


def _error_dict(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ActionError):
        return exc.to_dict()
    return {"name": type(exc).__name__, "message": str(exc)}


def run_action_case(case: dict[str, Any], now_ms: int | None) -> dict[str, Any]:
    settings = Settings.from_dict(case.get("settings") if isinstance(case.get("settings"), dict) else None)
    try:
        compiled = _compiled_action(str(case.get("action")), case.get("mapping"))
        requests = compiled.run(case.get("event"), settings, now_ms)
    except ActionError as exc:
        return {"id": case.get("id"), "requests": [], "error": exc.to_dict()}
    return {"id": case.get("id"), "requests": [request_answer(r) for r in requests], "error": None}


def run_trigger_case(case: dict[str, Any]) -> dict[str, Any]:
    return answer_trigger_case(case)


def run_mapping_case(case: dict[str, Any]) -> dict[str, Any]:
    mapping = case.get("mapping")
    try:
        validate_mapping(mapping)
        compiled = compile_mapping(mapping)
    except MappingValidationError as exc:
        return {"id": case.get("id"), "result": None, "error": {"name": "AggregateError", "message": str(exc)}}
    try:
        result = compiled.evaluate(case.get("event"))
    except MappingRuntimeError as exc:
        return {"id": case.get("id"), "result": None, "error": {"name": "Error", "message": str(exc)}}
    # The answer is what JSON.stringify writes: functions reached through a prototype
    # (`$.properties.constructor`) and undefined values are dropped.
    return {"id": case.get("id"), "result": json_round_trip(result), "error": None}


def run_case(case: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """The conformance answer for one case of any kind."""
    kind = case.get("kind")
    try:
        if kind == "action":
            return run_action_case(case, now_ms)
        if kind == "trigger":
            return run_trigger_case(case)
        if kind == "mapping":
            return run_mapping_case(case)
    except Exception as exc:  # never lose a line of output: an unexpected failure is an error answer
        out: dict[str, Any] = {"id": case.get("id"), "error": _error_dict(exc)}
        if kind == "action":
            out["requests"] = []
        elif kind == "trigger":
            out["match"] = False
        else:
            out["result"] = None
        return out
    return {"id": case.get("id"), "error": {"name": "Error", "message": f"Unknown case kind: {kind!r}"}}
