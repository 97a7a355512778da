"""Segment mapping-kit (@segment/actions-core 3.170.0) for amprelay: validate, compile, evaluate.

    from amprelay.mapping import compile_mapping
    compiled = compile_mapping({"user_id": {"@path": "$.userId"}})
    compiled.evaluate(event)  # == mapping-kit transform(mapping, event)

Values: JSON-shaped Python values plus two JS-only values from `amprelay.js` that can appear in
results: `UNDEFINED` (JS undefined; removed from objects, but kept as array items like upstream's
removeUndefined; serialise it as null) and `JSFunction` (a built-in function reached through a
path such as `$.properties.constructor`; JSON.stringify drops it). `amprelay.js.json_round_trip(result)`
gives what `JSON.parse(JSON.stringify(result))` would.
Results are fresh copies: mutating them never changes the event or later evaluations.
"""

from __future__ import annotations

from typing import Any

from .compiler import CompiledMapping, RootChecks, build, prepare_mapping
from .errors import MappingError, MappingRuntimeError, MappingValidationError
from .validate import collect_errors

__all__ = [
    "compile_mapping",
    "validate_mapping",
    "CompiledMapping",
    "RootChecks",
    "MappingError",
    "MappingValidationError",
    "MappingRuntimeError",
    "transform",
]


def validate_mapping(doc: Any) -> None:
    """Raise MappingValidationError if mapping-kit would reject `doc` before resolving it."""
    errors = collect_errors(prepare_mapping(doc))
    if errors:
        raise MappingValidationError(errors)


def compile_mapping(doc: Any) -> CompiledMapping:
    """Validate `doc`, then compile it once; evaluate per event with `.evaluate(event)`."""
    prepared = prepare_mapping(doc)
    errors = collect_errors(prepared)
    if errors:
        raise MappingValidationError(errors)
    return build(prepared)


def transform(doc: Any, event: Any) -> Any:
    """One-shot `transform(mapping, event)` (compiles every call: use compile_mapping in hot paths)."""
    return compile_mapping(doc).evaluate(event)
