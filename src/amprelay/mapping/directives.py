"""The mapping-kit directives (@path, @template, @if, @case, @arrayPath, @flatten, @json,
@merge, @transform, @excludeWhenNull, @liquid; @replace is in replace.py), each compiled once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amprelay.js import (
    UNDEFINED,
    json_stringify,
    keys_in_order,
    real_type_of,
    to_string,
    truthy,
    utf16_len,
    utf16_units,
)
from amprelay.js.json import parse as json_parse

from .errors import MappingRuntimeError, MappingValidationError
from .liquid import LiquidError, compile_liquid
from .nodes import Const, Fn, Node, as_fn, finalize, pure, raiser
from .path import OBJECT_PROTO_KEYS, get_path, parse_path, strip_root
from .replace import c_replace
from .resolve import DIRECTIVES, compile_node, prepare_mapping
from .template import compile_template
from .validate import collect_errors

__all__ = ["blank_ne_empty", "flatten_object"]


# -- @path / @template (registerStringDirective)


def _string_directive(name: str, value: Any, make: Callable[[str], Fn], final: bool) -> Node:
    if type(value) is str:
        return finalize(make(value), final)
    node = compile_node(value, False)
    if type(node) is Const:
        v = node.value
        if type(v) is not str:
            return raiser(f"{name}: expected string, got {real_type_of(v)}")
        return finalize(make(v), final)
    cache: dict[str, Fn] = {}

    def dynamic(payload: Any) -> Any:
        s = node(payload)
        if type(s) is not str:
            raise MappingRuntimeError(f"{name}: expected string, got {real_type_of(s)}")
        fn = cache.get(s)
        if fn is None:
            if len(cache) > 256:
                cache.clear()
            fn = cache[s] = make(s)
        return fn(payload)

    return finalize(dynamic, final)


def _make_path_fn(path: str) -> Fn:
    keys = parse_path(strip_root(path))
    n = len(keys)
    if any(k in OBJECT_PROTO_KEYS for k in keys):
        return lambda payload: get_path(payload, keys)
    if n == 0:
        return lambda payload: payload
    if n == 1:
        (k0,) = keys

        def get1(payload: Any) -> Any:
            if type(payload) is dict:
                return payload.get(k0, UNDEFINED)
            return get_path(payload, keys)

        return get1
    if n == 2:
        k0, k1 = keys

        def get2(payload: Any) -> Any:
            if type(payload) is dict:
                v = payload.get(k0, UNDEFINED)
                if type(v) is dict:
                    return v.get(k1, UNDEFINED)
            return get_path(payload, keys)

        return get2
    if n == 3:
        k0, k1, k2 = keys

        def get3(payload: Any) -> Any:
            if type(payload) is dict:
                v = payload.get(k0, UNDEFINED)
                if type(v) is dict:
                    v = v.get(k1, UNDEFINED)
                    if type(v) is dict:
                        return v.get(k2, UNDEFINED)
            return get_path(payload, keys)

        return get3
    return lambda payload: get_path(payload, keys)


def _c_path(value: Any, final: bool) -> Node:
    return _string_directive("@path", value, _make_path_fn, final)


def _c_template(value: Any, final: bool) -> Node:
    return _string_directive("@template", value, compile_template, False)  # always a str


# -- @literal


def _c_literal(value: Any, final: bool) -> Node:
    return compile_node(value, final)


# -- @if


def blank_ne_empty(value: Any) -> bool:
    """JS `value != ''` for a non-null value."""
    t = type(value)
    if t is str:
        return value != ""
    if t is bool:
        return value
    if t is int or t is float:
        return value != 0
    if t is list:
        return to_string(value) != ""
    return True


def _c_if(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return raiser('@if requires an object with an "exists" key')
    exists = opts.get("exists", UNDEFINED)
    blank = opts.get("blank", UNDEFINED)
    if not truthy(exists) and not truthy(blank):
        return raiser('@if requires an "exists" key or a "blank" key')
    then_raw = opts.get("then", UNDEFINED)
    else_raw = opts.get("else", UNDEFINED)
    then_fn = as_fn(compile_node(then_raw, final), final) if then_raw is not UNDEFINED else None
    else_fn = as_fn(compile_node(else_raw, final), final) if truthy(else_raw) else None
    if exists is not UNDEFINED:
        cond_node = compile_node(exists, False)
        mode = "exists"
    else:
        cond_node = compile_node(blank, False)
        mode = "blank"
    cond_fn = as_fn(cond_node, False)

    if mode == "exists":

        def run_if(payload: Any) -> Any:
            v = cond_fn(payload)
            if v is not UNDEFINED and v is not None:
                return then_fn(payload) if then_fn is not None else UNDEFINED
            return else_fn(payload) if else_fn is not None else UNDEFINED

    else:

        def run_if(payload: Any) -> Any:
            v = cond_fn(payload)
            if v is not UNDEFINED and v is not None and blank_ne_empty(v):
                return then_fn(payload) if then_fn is not None else UNDEFINED
            return else_fn(payload) if else_fn is not None else UNDEFINED

    if type(cond_node) is Const:
        # the branch is known at compile time: only it matters
        v = cond_node.value
        cond = v is not UNDEFINED and v is not None and (mode == "exists" or blank_ne_empty(v))
        branch_raw, has = (then_raw, then_fn is not None) if cond else (else_raw, else_fn is not None)
        if not has:
            return Const(UNDEFINED)
        return compile_node(branch_raw, final)
    return run_if


# -- @case


def _c_case(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return raiser('@case requires an object with a "operator" key')
    operator = opts.get("operator", UNDEFINED)
    if not truthy(operator):
        return raiser('@case requires a "operator" key')
    value_raw = opts.get("value", UNDEFINED)
    if not truthy(value_raw):
        return Const(UNDEFINED)
    node = compile_node(value_raw, False)
    value_fn = as_fn(node, False)

    def run_case(payload: Any) -> Any:
        v = value_fn(payload)
        if type(v) is str:
            if operator == "lower" and type(operator) is str:
                return v.lower()
            if operator == "upper" and type(operator) is str:
                return v.upper()
            raise MappingRuntimeError('operator key should have a value of "lower" or "upper"')
        return v

    return pure(finalize(run_case, final), [node], final)


# -- @arrayPath


def _c_array_path(data: Any, final: bool) -> Node:
    if type(data) is not list:
        return raiser(f"@arrayPath expected array, got {real_type_of(data)}")
    path = data[0] if len(data) > 0 else UNDEFINED
    item_shape = data[1] if len(data) > 1 else UNDEFINED
    if type(path) is str:
        root_fn = _make_path_fn(path)
        deps: list[Node] = []
        path_is_payload = True
    else:
        root_node = compile_node(path, False)
        root_fn = as_fn(root_node, False)
        deps = [root_node]
        path_is_payload = False
    if type(item_shape) is dict and len(item_shape) > 0:
        item_fn = as_fn(compile_node(item_shape, final), final)

        def run_array_path(payload: Any) -> Any:
            root = root_fn(payload)
            t = type(root)
            if t is list:
                return [item_fn(item) for item in root]
            if t is dict:
                return [item_fn(root)]
            return root

        fn: Fn = run_array_path  # mapped items are compiled final; a passed-through root is a scalar
    else:
        fn = finalize(root_fn, final)
    if path_is_payload:
        return fn
    return pure(fn, deps, final)


# -- @flatten


def _flatten_into(out: dict[str, Any], value: Any, prefix: str, separator: str, ignore_arrays: bool) -> None:
    t = type(value)
    if t is dict:
        for k in keys_in_order(value):
            key = prefix + separator + k if prefix else k
            _flatten_into(out, value[k], key, separator, ignore_arrays)
    elif t is list and not ignore_arrays:
        for i, item in enumerate(value):
            k = str(i)
            key = prefix + separator + k if prefix else k
            _flatten_into(out, item, key, separator, ignore_arrays)
    else:
        out[prefix] = value  # like `{...acc, ...sub}`: a re-assigned key keeps its first position


def flatten_object(value: Any, separator: str, ignore_arrays: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _flatten_into(out, value, "", separator, ignore_arrays)
    return out


def _c_flatten(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return raiser('@flatten requires an object with a "separator" key')
    if not truthy(opts.get("separator", UNDEFINED)):
        return raiser('@flatten requires a "separator" key')
    sep_node = compile_node(opts["separator"], False)
    sep_fn = as_fn(sep_node, False)
    value_node = compile_node(opts.get("value", UNDEFINED), False)
    value_fn = as_fn(value_node, False)
    omit_arrays = truthy(opts.get("omitArrays", UNDEFINED))

    def run_flatten(payload: Any) -> Any:
        sep = sep_fn(payload)
        if type(sep) is not str:
            raise MappingRuntimeError("@flatten requires a string separator")
        return flatten_object(value_fn(payload), sep, omit_arrays)

    return pure(finalize(run_flatten, final), [sep_node, value_node], final)


# -- @json


def _c_json(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return raiser('@json requires an object with a "value" key')
    mode = opts.get("mode", UNDEFINED)
    if not truthy(mode):
        return raiser('@json requires a "mode" key')
    if not truthy(opts.get("value", UNDEFINED)):
        return raiser('@json requires a "value" key')
    node = compile_node(opts["value"], False)
    value_fn = as_fn(node, False)
    if mode == "encode" and type(mode) is str:

        def run_json(payload: Any) -> Any:
            return json_stringify(value_fn(payload))

    elif mode == "decode" and type(mode) is str:

        def run_json(payload: Any) -> Any:
            v = value_fn(payload)
            if type(v) is str:
                try:
                    return json_parse(v)  # JSONParseError is a ValueError
                except (ValueError, RecursionError):
                    return v
            return v

    else:
        # upstream still resolves the value (errors surface) and returns undefined
        def run_json(payload: Any) -> Any:
            value_fn(payload)
            return UNDEFINED

    return pure(finalize(run_json, final), [node], final)


# -- @merge


def _assign(target: dict[str, Any], source: Any) -> None:
    t = type(source)
    if t is dict:
        for k in keys_in_order(source):
            if k != "__proto__":
                target[k] = source[k]
    elif t is list:
        for i, v in enumerate(source):
            target[str(i)] = v
    elif t is str:
        for i, unit in enumerate(utf16_units(source)):
            target[str(i)] = unit


def _js_typeof(value: Any) -> str:
    t = real_type_of(value)
    if t in ("array", "null"):
        return "object"
    return t


def _c_merge(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return raiser('@merge requires an object with an "objects" key and a "direction" key')
    if not truthy(opts.get("direction", UNDEFINED)):
        return raiser('@merge requires a "direction" key')
    dir_node = compile_node(opts["direction"], False)
    dir_fn = as_fn(dir_node, False)
    objects = opts.get("objects", UNDEFINED)
    if not truthy(objects):
        late_error = '@merge requires a "objects" key'
    elif type(objects) is not list:
        late_error = f"@merge: expected opts.array, got {_js_typeof(objects)}"
    else:
        late_error = None
    if late_error is not None:

        def fail(payload: Any) -> Any:
            dir_fn(payload)
            raise MappingRuntimeError(late_error)

        return fail
    obj_nodes = [compile_node(o, False) for o in objects]
    obj_fns = tuple(as_fn(n, False) for n in obj_nodes)

    def run_merge(payload: Any) -> Any:
        direction = dir_fn(payload)
        resolved = [fn(payload) for fn in obj_fns]
        if direction == "left" and type(direction) is str:
            resolved.reverse()
        out: dict[str, Any] = {}
        for src in resolved:
            _assign(out, src)
        return out

    return pure(finalize(run_merge, final), [dir_node, *obj_nodes], final)


# -- @transform


def _c_transform(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return raiser('@transform requires an object with an "apply" key and a "mapping" key')
    if not truthy(opts.get("mapping", UNDEFINED)):
        return raiser('@transform requires a "mapping" key')
    apply = opts.get("apply", UNDEFINED)
    if not truthy(apply):
        return raiser('@transform requires a "apply" key')
    if type(apply) is not dict:
        return raiser('@transform "apply" key should be an object')
    try:
        prepared = prepare_mapping(apply)
    except MappingValidationError as e:
        return raiser(str(e))
    errors = collect_errors(prepared)
    apply_fn: Fn
    if errors:
        apply_fn = raiser(" ".join(m for _, m in errors))
    else:
        apply_fn = as_fn(compile_node(prepared, True), True)
    mapping_fn = as_fn(compile_node(opts["mapping"], final), final)

    def run_transform(payload: Any) -> Any:
        if type(payload) is not dict:
            raise MappingRuntimeError(f"data must be an object, got {real_type_of(payload)}")
        return mapping_fn(apply_fn(payload))

    return run_transform


# -- @excludeWhenNull


def _clean_nulls(value: Any) -> Any:
    if type(value) is dict:
        cleaned = dict(value)
        for k, v in value.items():
            if v is None:
                cleaned[k] = UNDEFINED
            elif type(v) is dict:
                cleaned[k] = _clean_nulls(v)
        return cleaned
    return value


def _c_exclude_when_null(value: Any, final: bool) -> Node:
    node = compile_node(value, False)
    value_fn = as_fn(node, False)

    def run_exclude(payload: Any) -> Any:
        v = value_fn(payload)
        if v is None:
            return UNDEFINED
        return _clean_nulls(v)

    return pure(finalize(run_exclude, final), [node], final)


# -- @liquid


def _c_liquid(value: Any, final: bool) -> Node:
    if type(value) is not str:
        return raiser("liquid template value must be a string")
    if value == "":
        return Const("")
    if utf16_len(value) > 1000:
        return raiser("liquid template values are limited to 1000 characters")

    try:
        render = compile_liquid(value)
    except LiquidError as e:
        return raiser(str(e))

    def run_liquid(payload: Any) -> Any:
        try:
            return render(payload)
        except LiquidError as e:
            raise MappingRuntimeError(str(e)) from None

    return run_liquid


DIRECTIVES.update({
    "@if": _c_if,
    "@case": _c_case,
    "@replace": c_replace,
    "@arrayPath": _c_array_path,
    "@path": _c_path,
    "@template": _c_template,
    "@literal": _c_literal,
    "@flatten": _c_flatten,
    "@json": _c_json,
    "@merge": _c_merge,
    "@transform": _c_transform,
    "@excludeWhenNull": _c_exclude_when_null,
    "@liquid": _c_liquid,
})
