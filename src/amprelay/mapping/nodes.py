"""The compiled form of a mapping: a node is a `Const` or a function `payload -> value`, and the
helpers every directive compiler uses to build, fold and finalize nodes.

"final" nodes produce values that go straight into the result: fresh copies with undefined object
values removed (upstream's `removeUndefined`); non-final nodes produce raw values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amprelay.js import (
    UNDEFINED,
)

from .errors import MappingRuntimeError

__all__ = ["Const", "Fn", "as_fn", "finalize", "is_directive", "pure", "raiser", "remove_undefined_copy", "try_fold"]

Fn = Callable[[Any], Any]


class Const:
    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


Node = Any  # Const | Fn


def remove_undefined_copy(value: Any) -> Any:
    """removeUndefined: deep copy of objects/arrays without undefined object values. Own
    "__proto__" keys vanish as with upstream's Object.assign copy."""
    t = type(value)
    if t is dict:
        out = {}
        for k, v in value.items():
            if v is UNDEFINED or k == "__proto__":
                continue
            tv = type(v)
            out[k] = remove_undefined_copy(v) if (tv is dict or tv is list) else v
        return out
    if t is list:
        return [remove_undefined_copy(v) if type(v) in (dict, list) else v for v in value]
    return value


def raiser(message: str) -> Fn:
    def fail(payload: Any) -> Any:
        raise MappingRuntimeError(message)

    return fail


def as_fn(node: Node, final: bool) -> Fn:
    """A payload function for a node. Final constants that are containers are copied per call."""
    if type(node) is Const:
        value = node.value
        if final and type(value) in (dict, list):
            cleaned = remove_undefined_copy(value)
            return lambda payload: remove_undefined_copy(cleaned)
        return lambda payload: value
    return node


def is_directive(obj: dict[str, Any]) -> bool:
    has = False
    for k in obj:
        if k.startswith("@"):
            has = True
        elif k != "_metadata":
            return False
    return has


def try_fold(fn: Fn, final: bool) -> Node:
    """Evaluate a payload-independent node once at compile time (unless it raises)."""
    try:
        value = fn(None)
    except MappingRuntimeError:
        return fn
    except RecursionError:
        return fn
    return Const(value)


def finalize(fn: Fn, final: bool) -> Fn:
    """Wrap a raw-value function so its result is cleaned/copied when final."""
    if not final:
        return fn

    def cleaned(payload: Any) -> Any:
        v = fn(payload)
        t = type(v)
        if t is dict or t is list:
            return remove_undefined_copy(v)
        return v

    return cleaned


def pure(fn: Fn, deps: list[Node], final: bool) -> Node:
    """A directive that reads the payload only through `deps`: fold it when they are constant."""
    if all(type(d) is Const for d in deps):
        return try_fold(fn, final)
    return fn
