"""mapping-kit `resolve`: compile a mapping value (object, array, directive or literal) into a node.

Directive compilers live in `directives.py` and `replace.py`, which register themselves in
`DIRECTIVES` when the package is imported (this module imports neither: no cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amprelay.js import UNDEFINED, keys_in_order, utf16_len, utf16_units

from .errors import MappingValidationError
from .nodes import Const, Node, as_fn, is_directive, raiser

__all__ = ["DIRECTIVES", "ROOT_MAPPING_FIELD_KEY", "compile_node", "prepare_mapping"]

ROOT_MAPPING_FIELD_KEY = "__segment_internal_directive"

#: directive name -> compiler(value, final) -> Node; filled by directives.py and replace.py.
DIRECTIVES: dict[str, Callable[[Any, bool], Node]] = {}


# ---------------------------------------------------------------- resolve (objects, arrays)


def compile_node(node: Any, final: bool) -> Node:
    """Compile `resolve(mapping, payload)` for one mapping value."""
    t = type(node)
    if t is dict:
        if is_directive(node):
            return compile_directive(node, final)
        return _compile_object(node, final)
    if t is list:
        return _compile_array(node, final)
    return Const(node)


def _compile_object(obj: dict[str, Any], final: bool) -> Node:
    keys = keys_in_order(obj)
    children = [(k, compile_node(obj[k], final)) for k in keys]
    if all(type(c) is Const for _, c in children):
        if final:
            return Const({k: c.value for k, c in children if c.value is not UNDEFINED})
        return Const({k: c.value for k, c in children})
    entries = tuple((k, as_fn(c, final)) for k, c in children)
    if final:

        def build_final(payload: Any) -> dict[str, Any]:
            out = {}
            for k, fn in entries:
                v = fn(payload)
                if v is not UNDEFINED:
                    out[k] = v
            return out

        if any(k == "__proto__" for k, _ in entries):
            entries = tuple((k, fn) for k, fn in entries if k != "__proto__")
        return build_final

    def build(payload: Any) -> dict[str, Any]:
        return {k: fn(payload) for k, fn in entries}

    return build


def _compile_array(arr: list[Any], final: bool) -> Node:
    children = [compile_node(item, final) for item in arr]
    if all(type(c) is Const for c in children):
        return Const([c.value for c in children])
    fns = tuple(as_fn(c, final) for c in children)
    return lambda payload: [fn(payload) for fn in fns]


def compile_directive(obj: dict[str, Any], final: bool) -> Node:
    name = next(k for k in obj if k.startswith("@"))
    compiler = DIRECTIVES.get(name)
    if compiler is None:
        return raiser(f"{name} is not a valid directive, got undefined")
    return compiler(obj[name], final)


# ---------------------------------------------------------------- root


def _spread(doc: Any) -> Any:
    """`{ ...doc }`."""
    t = type(doc)
    if t is dict:
        return dict(doc)
    if t is list:
        return {str(i): v for i, v in enumerate(doc)}
    if t is str:
        return {str(i): u for i, u in enumerate(utf16_units(doc))}
    return {}


def prepare_mapping(doc: Any) -> Any:
    """mapping-kit `getMappingToProcess`: handles the `__segment_internal_directive` root key."""
    if doc is None or doc is UNDEFINED:
        raise MappingValidationError([("/", "Cannot convert undefined or null to object")])
    mapping = _spread(doc)
    if ROOT_MAPPING_FIELD_KEY not in mapping:
        return mapping
    customer = {k: v for k, v in mapping.items() if k != ROOT_MAPPING_FIELD_KEY}
    root = mapping[ROOT_MAPPING_FIELD_KEY]
    if type(root) is dict:
        keys = keys_in_order(root)
    elif type(root) is list:
        keys = [str(i) for i in range(len(root))]
    elif type(root) is str:
        keys = [str(i) for i in range(utf16_len(root))]
    elif root is None:
        raise MappingValidationError([("/", "Cannot convert undefined or null to object")])
    else:
        keys = []
    if len(keys) > 1:
        raise MappingValidationError([("/", "The root mapping must only have a single directive object")])
    if type(root) is dict:
        directive = root[keys[0]] if keys else UNDEFINED
    elif type(root) is list:
        directive = root[0] if keys else UNDEFINED
    else:
        directive = UNDEFINED if not keys else root
    if type(directive) not in (dict, list):
        raise MappingValidationError([("/", "The root directive must be an object")])
    if type(directive) is dict:
        root = dict(root)
        directive = dict(directive)
        directive["mapping"] = customer
        root[keys[0]] = directive
    return root
