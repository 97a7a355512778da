"""Shared helpers for the mapping tests."""

from __future__ import annotations

import json
import os
from typing import Any

from amprelay.js import json_round_trip
from amprelay.mapping import MappingError, compile_mapping
from amprelay.mapping.compiler import build, prepare_mapping
from amprelay.mapping.validate import collect_errors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFORMANCE = os.path.join(ROOT, "tests", "conformance")
DATA = os.path.join(HERE, "data")


def load_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def normalize(value: Any) -> Any:
    """Deep-equal by the conformance rules: key order ignored, numbers by value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return {k: normalize(v) for k, v in value.items()}


def run_case(mapping: Any, event: Any, fast: bool = True) -> tuple[Any, str | None]:
    """(JSON-serialisable result, error message or None), like a conformance answer."""
    try:
        if fast:
            compiled = compile_mapping(mapping)
        else:
            prepared = prepare_mapping(mapping)
            errors = collect_errors(prepared)
            if errors:
                return None, " ".join(m for _, m in errors)
            compiled = build(prepared, fast=False)
        return json_round_trip(compiled.evaluate(event)), None
    except MappingError as e:
        return None, str(e)


def parity(cases: list[dict], expected: dict[str, dict], fast: bool = True) -> list[str]:
    """Ids whose answer differs from the expected one."""
    bad = []
    for case in cases:
        exp = expected[case["id"]]
        result, error = run_case(case["mapping"], case["event"], fast)
        if (error is None) != (exp["error"] is None) or normalize(result) != normalize(exp["result"]):
            bad.append(case["id"])
    return bad
