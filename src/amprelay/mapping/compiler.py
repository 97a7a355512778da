"""Compile a mapping-kit document once into nested closures, evaluate it per event.

Semantics follow @segment/actions-core 3.170.0 `mapping-kit/index.ts` (`resolve` + directives +
`removeUndefined`). A compiled node is either a `Const` or a function `payload -> value`.

"final" nodes produce values that go straight into the result: they are fresh copies with
undefined object values already removed (what upstream's `removeUndefined` does at the end).
Non-final nodes produce raw values (possibly UNDEFINED, possibly shared with the event) for
other directives to consume.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from amprelay.js import (
    MAX_SAFE_INTEGER,
    UNDEFINED,
    json_stringify,
    keys_in_order,
    number_to_string,
    real_type_of,
    to_string,
    truthy,
    utf16_len,
    utf16_units,
)

from .errors import MappingRuntimeError, MappingValidationError
from .path import OBJECT_PROTO_KEYS, get_path, parse_path, strip_root
from .template import compile_template
from .validate import MAX_PATTERN_LENGTH, MAX_REPLACEMENT_LENGTH, collect_errors

__all__ = ["Const", "compile_node", "prepare_mapping", "remove_undefined_copy", "CompiledMapping"]

ROOT_MAPPING_FIELD_KEY = "__segment_internal_directive"

Fn = Callable[[Any], Any]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected token {name[0]} in JSON")


def _parse_int(text: str) -> int | float:
    value = int(text)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else float(text)


def _json_parse(text: str) -> Any:
    """`JSON.parse` as `@json` decodes (ValueError on invalid JSON and on NaN/Infinity literals)."""
    return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)


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


_clean = remove_undefined_copy


def _raiser(message: str) -> Fn:
    def fail(payload: Any) -> Any:
        raise MappingRuntimeError(message)

    return fail


def _as_fn(node: Node, final: bool) -> Fn:
    """A payload function for a node. Final constants that are containers are copied per call."""
    if type(node) is Const:
        value = node.value
        if final and type(value) in (dict, list):
            cleaned = _clean(value)
            return lambda payload: _clean(cleaned)
        return lambda payload: value
    return node


def _is_directive(obj: dict) -> bool:
    has = False
    for k in obj:
        if k.startswith("@"):
            has = True
        elif k != "_metadata":
            return False
    return has


def _try_fold(fn: Fn, final: bool) -> Node:
    """Evaluate a payload-independent node once at compile time (unless it raises)."""
    try:
        value = fn(None)
    except MappingRuntimeError:
        return fn
    except RecursionError:
        return fn
    return Const(value)


# ---------------------------------------------------------------- resolve (objects, arrays)


def compile_node(node: Any, final: bool) -> Node:
    """Compile `resolve(mapping, payload)` for one mapping value."""
    t = type(node)
    if t is dict:
        if _is_directive(node):
            return _compile_directive(node, final)
        return _compile_object(node, final)
    if t is list:
        return _compile_array(node, final)
    return Const(node)


def _compile_object(obj: dict, final: bool) -> Node:
    keys = keys_in_order(obj)
    children = [(k, compile_node(obj[k], final)) for k in keys]
    if all(type(c) is Const for _, c in children):
        if final:
            return Const({k: c.value for k, c in children if c.value is not UNDEFINED})
        return Const({k: c.value for k, c in children})
    entries = tuple((k, _as_fn(c, final)) for k, c in children)
    if final:

        def build_final(payload: Any) -> dict:
            out = {}
            for k, fn in entries:
                v = fn(payload)
                if v is not UNDEFINED:
                    out[k] = v
            return out

        if any(k == "__proto__" for k, _ in entries):
            entries = tuple((k, fn) for k, fn in entries if k != "__proto__")
        return build_final

    def build(payload: Any) -> dict:
        return {k: fn(payload) for k, fn in entries}

    return build


def _compile_array(arr: list, final: bool) -> Node:
    children = [compile_node(item, final) for item in arr]
    if all(type(c) is Const for c in children):
        return Const([c.value for c in children])
    fns = tuple(_as_fn(c, final) for c in children)
    return lambda payload: [fn(payload) for fn in fns]


# ---------------------------------------------------------------- directives


def _compile_directive(obj: dict, final: bool) -> Node:
    name = next(k for k in obj if k.startswith("@"))
    compiler = _DIRECTIVES.get(name)
    if compiler is None:
        return _raiser(f"{name} is not a valid directive, got undefined")
    return compiler(obj[name], final)


def _finalize(fn: Fn, final: bool) -> Fn:
    """Wrap a raw-value function so its result is cleaned/copied when final."""
    if not final:
        return fn

    def cleaned(payload: Any) -> Any:
        v = fn(payload)
        t = type(v)
        if t is dict or t is list:
            return _clean(v)
        return v

    return cleaned


def _pure(fn: Fn, deps: list[Node], final: bool) -> Node:
    """A directive that reads the payload only through `deps`: fold it when they are constant."""
    if all(type(d) is Const for d in deps):
        return _try_fold(fn, final)
    return fn


def _resolve_fn(node: Any) -> Fn:
    return _as_fn(compile_node(node, False), False)


# -- @path / @template (registerStringDirective)


def _string_directive(name: str, value: Any, make: Callable[[str], Fn], final: bool) -> Node:
    if type(value) is str:
        return _finalize(make(value), final)
    node = compile_node(value, False)
    if type(node) is Const:
        v = node.value
        if type(v) is not str:
            return _raiser(f"{name}: expected string, got {real_type_of(v)}")
        return _finalize(make(v), final)
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

    return _finalize(dynamic, final)


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


def _blank_ne_empty(value: Any) -> bool:
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
        return _raiser('@if requires an object with an "exists" key')
    exists = opts.get("exists", UNDEFINED)
    blank = opts.get("blank", UNDEFINED)
    if not truthy(exists) and not truthy(blank):
        return _raiser('@if requires an "exists" key or a "blank" key')
    then_raw = opts.get("then", UNDEFINED)
    else_raw = opts.get("else", UNDEFINED)
    then_fn = _as_fn(compile_node(then_raw, final), final) if then_raw is not UNDEFINED else None
    else_fn = _as_fn(compile_node(else_raw, final), final) if truthy(else_raw) else None
    if exists is not UNDEFINED:
        cond_node = compile_node(exists, False)
        mode = "exists"
    else:
        cond_node = compile_node(blank, False)
        mode = "blank"
    cond_fn = _as_fn(cond_node, False)

    if mode == "exists":

        def run_if(payload: Any) -> Any:
            v = cond_fn(payload)
            if v is not UNDEFINED and v is not None:
                return then_fn(payload) if then_fn is not None else UNDEFINED
            return else_fn(payload) if else_fn is not None else UNDEFINED

    else:

        def run_if(payload: Any) -> Any:
            v = cond_fn(payload)
            if v is not UNDEFINED and v is not None and _blank_ne_empty(v):
                return then_fn(payload) if then_fn is not None else UNDEFINED
            return else_fn(payload) if else_fn is not None else UNDEFINED

    if type(cond_node) is Const:
        # the branch is known at compile time: only it matters
        v = cond_node.value
        cond = v is not UNDEFINED and v is not None and (mode == "exists" or _blank_ne_empty(v))
        branch_raw, has = (then_raw, then_fn is not None) if cond else (else_raw, else_fn is not None)
        if not has:
            return Const(UNDEFINED)
        return compile_node(branch_raw, final)
    return run_if


# -- @case


def _c_case(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return _raiser('@case requires an object with a "operator" key')
    operator = opts.get("operator", UNDEFINED)
    if not truthy(operator):
        return _raiser('@case requires a "operator" key')
    value_raw = opts.get("value", UNDEFINED)
    if not truthy(value_raw):
        return Const(UNDEFINED)
    node = compile_node(value_raw, False)
    value_fn = _as_fn(node, False)

    def run_case(payload: Any) -> Any:
        v = value_fn(payload)
        if type(v) is str:
            if operator == "lower" and type(operator) is str:
                return v.lower()
            if operator == "upper" and type(operator) is str:
                return v.upper()
            raise MappingRuntimeError('operator key should have a value of "lower" or "upper"')
        return v

    return _pure(_finalize(run_case, final), [node], final)


# -- @replace


def _js_canon(ch: str) -> str:
    """Canonicalize (non-unicode ignoreCase) of one UTF-16 unit."""
    if ch > "\uffff":
        return ch
    u = ch.upper()
    if len(u) != 1:
        return ch
    if ord(ch) >= 128 and ord(u) < 128:
        return ch
    return u


def _expand_replacement(replacement: str, subject: str, start: int, end: int) -> str:
    """JS GetSubstitution for a regex without capture groups."""
    if "$" not in replacement:
        return replacement
    out = []
    i = 0
    n = len(replacement)
    while i < n:
        c = replacement[i]
        if c == "$" and i + 1 < n:
            nxt = replacement[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "&":
                out.append(subject[start:end])
                i += 2
                continue
            if nxt == "`":
                out.append(subject[:start])
                i += 2
                continue
            if nxt == "'":
                out.append(subject[end:])
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _perform_replace(value: str, pattern: str, replacement: str, is_global: bool, ignorecase: bool) -> str:
    if utf16_len(pattern) > MAX_PATTERN_LENGTH:
        raise MappingRuntimeError(f'@replace requires a "pattern" less than {MAX_PATTERN_LENGTH} characters')
    if utf16_len(replacement) > MAX_REPLACEMENT_LENGTH:
        raise MappingRuntimeError(
            f'@replace requires a "replacement" less than {MAX_REPLACEMENT_LENGTH} characters'
        )
    astral = not value.isascii() and (max(value) > "\uffff" or max(pattern) > "\uffff")
    if astral:
        # work in UTF-16 code units, like JS
        v_units = utf16_units(value)
        p_units = utf16_units(pattern)
        subject = "".join(v_units)
        pat = "".join(p_units)
    else:
        subject, pat = value, pattern
    if ignorecase:
        hay = "".join(_js_canon(c) for c in subject)
        needle = "".join(_js_canon(c) for c in pat)
    else:
        hay, needle = subject, pat
    out = []
    pos = 0
    search_from = 0
    plen = len(needle)
    while True:
        idx = hay.find(needle, search_from)
        if idx < 0:
            break
        out.append(subject[pos:idx])
        out.append(_expand_replacement(replacement, subject, idx, idx + plen))
        pos = idx + plen
        search_from = pos
        if not is_global:
            break
    out.append(subject[pos:])
    result = "".join(out)
    if astral:
        result = result.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return result


def _c_replace(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return _raiser('@replace requires an object with a "pattern" key')
    if not truthy(opts.get("pattern", UNDEFINED)):
        return _raiser('@replace requires a "pattern" key')
    pattern = opts["pattern"]
    replacement = opts.get("replacement", UNDEFINED)
    if replacement is None or replacement is UNDEFINED:
        replacement = ""
    pattern2 = opts.get("pattern2", UNDEFINED)
    replacement2 = opts.get("replacement2", UNDEFINED)
    if truthy(pattern2) and (replacement2 is None or replacement2 is UNDEFINED):
        replacement2 = ""
    ignorecase = opts.get("ignorecase", UNDEFINED)
    if ignorecase is None or ignorecase is UNDEFINED:
        ignorecase = False
    is_global = opts.get("global", UNDEFINED)
    if is_global is None or is_global is UNDEFINED:
        is_global = True
    value_raw = opts.get("value", UNDEFINED)
    if not truthy(value_raw):
        return Const(UNDEFINED)
    types_ok = (
        type(pattern) is str
        and type(replacement) is str
        and type(ignorecase) is bool
        and type(is_global) is bool
    )
    second = truthy(pattern2) and type(pattern2) is str and type(replacement2) is str
    node = compile_node(value_raw, False)
    value_fn = _as_fn(node, False)

    def run_replace(payload: Any) -> Any:
        v = value_fn(payload)
        t = type(v)
        if t is bool:
            v = "true" if v else "false"
        elif t is int or t is float:
            v = number_to_string(v)
        elif t is not str:
            return ""
        if not types_ok:
            return ""
        new_value = _perform_replace(v, pattern, replacement, is_global, ignorecase)
        if second:
            new_value = _perform_replace(new_value, pattern2, replacement2, is_global, ignorecase)
        return new_value

    return _pure(run_replace, [node], final)


# -- @arrayPath


def _c_array_path(data: Any, final: bool) -> Node:
    if type(data) is not list:
        return _raiser(f"@arrayPath expected array, got {real_type_of(data)}")
    path = data[0] if len(data) > 0 else UNDEFINED
    item_shape = data[1] if len(data) > 1 else UNDEFINED
    if type(path) is str:
        root_fn = _make_path_fn(path)
        deps: list[Node] = []
        path_is_payload = True
    else:
        root_node = compile_node(path, False)
        root_fn = _as_fn(root_node, False)
        deps = [root_node]
        path_is_payload = False
    if type(item_shape) is dict and len(item_shape) > 0:
        item_fn = _as_fn(compile_node(item_shape, final), final)

        def run_array_path(payload: Any) -> Any:
            root = root_fn(payload)
            t = type(root)
            if t is list:
                return [item_fn(item) for item in root]
            if t is dict:
                return [item_fn(root)]
            return root

        fn = run_array_path  # mapped items are compiled final; a passed-through root is a scalar
    else:
        fn = _finalize(root_fn, final)
    if path_is_payload:
        return fn
    return _pure(fn, deps, final)


# -- @flatten


def _flatten_into(out: dict, value: Any, prefix: str, separator: str, ignore_arrays: bool) -> None:
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


def flatten_object(value: Any, separator: str, ignore_arrays: bool) -> dict:
    out: dict = {}
    _flatten_into(out, value, "", separator, ignore_arrays)
    return out


def _c_flatten(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return _raiser('@flatten requires an object with a "separator" key')
    if not truthy(opts.get("separator", UNDEFINED)):
        return _raiser('@flatten requires a "separator" key')
    sep_node = compile_node(opts["separator"], False)
    sep_fn = _as_fn(sep_node, False)
    value_node = compile_node(opts.get("value", UNDEFINED), False)
    value_fn = _as_fn(value_node, False)
    omit_arrays = truthy(opts.get("omitArrays", UNDEFINED))

    def run_flatten(payload: Any) -> Any:
        sep = sep_fn(payload)
        if type(sep) is not str:
            raise MappingRuntimeError("@flatten requires a string separator")
        return flatten_object(value_fn(payload), sep, omit_arrays)

    return _pure(_finalize(run_flatten, final), [sep_node, value_node], final)


# -- @json


def _c_json(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return _raiser('@json requires an object with a "value" key')
    mode = opts.get("mode", UNDEFINED)
    if not truthy(mode):
        return _raiser('@json requires a "mode" key')
    if not truthy(opts.get("value", UNDEFINED)):
        return _raiser('@json requires a "value" key')
    node = compile_node(opts["value"], False)
    value_fn = _as_fn(node, False)
    if mode == "encode" and type(mode) is str:

        def run_json(payload: Any) -> Any:
            return json_stringify(value_fn(payload))

    elif mode == "decode" and type(mode) is str:

        def run_json(payload: Any) -> Any:
            v = value_fn(payload)
            if type(v) is str:
                try:
                    return _json_parse(v)
                except (ValueError, RecursionError):
                    return v
            return v

    else:
        # upstream still resolves the value (errors surface) and returns undefined
        def run_json(payload: Any) -> Any:
            value_fn(payload)
            return UNDEFINED

    return _pure(_finalize(run_json, final), [node], final)


# -- @merge


def _assign(target: dict, source: Any) -> None:
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
        return _raiser('@merge requires an object with an "objects" key and a "direction" key')
    if not truthy(opts.get("direction", UNDEFINED)):
        return _raiser('@merge requires a "direction" key')
    dir_node = compile_node(opts["direction"], False)
    dir_fn = _as_fn(dir_node, False)
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
    obj_fns = tuple(_as_fn(n, False) for n in obj_nodes)

    def run_merge(payload: Any) -> Any:
        direction = dir_fn(payload)
        resolved = [fn(payload) for fn in obj_fns]
        if direction == "left" and type(direction) is str:
            resolved.reverse()
        out: dict = {}
        for src in resolved:
            _assign(out, src)
        return out

    return _pure(_finalize(run_merge, final), [dir_node, *obj_nodes], final)


# -- @transform


def _c_transform(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return _raiser('@transform requires an object with an "apply" key and a "mapping" key')
    if not truthy(opts.get("mapping", UNDEFINED)):
        return _raiser('@transform requires a "mapping" key')
    apply = opts.get("apply", UNDEFINED)
    if not truthy(apply):
        return _raiser('@transform requires a "apply" key')
    if type(apply) is not dict:
        return _raiser('@transform "apply" key should be an object')
    try:
        prepared = prepare_mapping(apply)
    except MappingValidationError as e:
        return _raiser(str(e))
    errors = collect_errors(prepared)
    apply_fn: Fn
    if errors:
        apply_fn = _raiser(" ".join(m for _, m in errors))
    else:
        apply_fn = _as_fn(compile_node(prepared, True), True)
    mapping_fn = _as_fn(compile_node(opts["mapping"], final), final)

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
    value_fn = _as_fn(node, False)

    def run_exclude(payload: Any) -> Any:
        v = value_fn(payload)
        if v is None:
            return UNDEFINED
        return _clean_nulls(v)

    return _pure(_finalize(run_exclude, final), [node], final)


# -- @liquid


def _c_liquid(value: Any, final: bool) -> Node:
    if type(value) is not str:
        return _raiser("liquid template value must be a string")
    if value == "":
        return Const("")
    if utf16_len(value) > 1000:
        return _raiser("liquid template values are limited to 1000 characters")
    from .liquid import LiquidError, compile_liquid

    try:
        render = compile_liquid(value)
    except LiquidError as e:
        return _raiser(str(e))

    def run_liquid(payload: Any) -> Any:
        try:
            return render(payload)
        except LiquidError as e:
            raise MappingRuntimeError(str(e)) from None

    return run_liquid


_DIRECTIVES: dict[str, Callable[[Any, bool], Node]] = {
    "@if": _c_if,
    "@case": _c_case,
    "@replace": _c_replace,
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
}


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


class CompiledMapping:
    """A mapping compiled once; `evaluate(event)` is mapping-kit's `transform(mapping, event)`."""

    __slots__ = ("_fn", "mapping")

    def __init__(self, mapping: Any, fn: Fn):
        self.mapping = mapping
        self._fn = fn

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
        from .codegen import generate_root

        return CompiledMapping(prepared, generate_root(prepared))
    node = compile_node(prepared, True)
    return CompiledMapping(prepared, _as_fn(node, True))

