"""Compile a mapping-kit document once, evaluate it per event: the root (`prepare_mapping`, `build`).

Semantics follow @segment/actions-core 3.170.0 `mapping-kit/index.ts` (`resolve` + directives +
`removeUndefined`). A compiled node is either a `Const` or a function `payload -> value`.

"final" nodes produce values that go straight into the result: they are fresh copies with
undefined object values already removed (what upstream's `removeUndefined` does at the end).
Non-final nodes produce raw values (possibly UNDEFINED, possibly shared with the event) for
other directives to consume.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amprelay.js import UNDEFINED, real_type_of

from . import directives  # noqa: F401 - registers the directive compilers in resolve.DIRECTIVES
from .codegen import RootChecks, generate_checked_root, generate_root
from .errors import MappingRuntimeError
from .nodes import Fn, as_fn
from .resolve import compile_node, prepare_mapping

__all__ = ["CompiledMapping", "RootChecks", "build", "prepare_mapping"]


class CompiledMapping:
    """A mapping compiled once; `evaluate(event)` is mapping-kit's `transform(mapping, event)`."""

    __slots__ = ("_fn", "mapping")

    def __init__(self, mapping: Any, fn: Fn):
        self.mapping = mapping
        self._fn = fn

    def checked(self, checks: RootChecks) -> Callable[[dict[str, Any]], dict[str, Any] | None] | None:
        """Mapping and validation in one pass, for dict events (see
        :func:`~amprelay.mapping.codegen.generate_checked_root`); None when the root is not a
        plain object. A ``RecursionError`` goes through (``evaluate`` words it)."""
        return generate_checked_root(self.mapping, checks)

    def evaluate(self, event: Any) -> Any:
        if type(event) is not dict:
            if event is UNDEFINED:
                event = {}
            else:
                raise MappingRuntimeError(f"data must be an object, got {real_type_of(event)}")
        try:
            return self._fn(event)
        except RecursionError:
            raise MappingRuntimeError("Maximum call stack size exceeded") from None


def build(prepared: Any, fast: bool = True) -> CompiledMapping:
    """Compile a prepared, validated mapping. `fast` generates straight-line code for the root
    object (see codegen.py); otherwise the closure tree is used throughout."""
    if fast and type(prepared) is dict:
        return CompiledMapping(prepared, generate_root(prepared))
    node = compile_node(prepared, True)
    return CompiledMapping(prepared, as_fn(node, True))
