"""mapping-kit `validate(mapping)`: the structural check run before resolving a mapping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amprelay.js import UNDEFINED, json_stringify, keys_in_order, real_type_of, utf16_len

from .nodes import is_directive

__all__ = ["collect_errors", "MAX_PATTERN_LENGTH", "MAX_REPLACEMENT_LENGTH"]

MAX_PATTERN_LENGTH = 10
MAX_REPLACEMENT_LENGTH = 10

Stack = tuple[str, ...]


class _VError(Exception):
    """One ValidationError: message `/${stack.join('/')} ${message}.`"""

    def __init__(self, message: str, stack: Stack):
        self.path = "/" + "/".join(stack)
        self.full = f"{self.path} {message}."
        super().__init__(self.full)


class _Aggregate(Exception):
    def __init__(self, errors: list[_VError]):
        self.errors = errors
        super().__init__(" ".join(e.full for e in errors))


def _flat(errors: list[Exception]) -> list[_VError]:
    out: list[_VError] = []
    for e in errors:
        if isinstance(e, _Aggregate):
            out.extend(e.errors)
        else:
            out.append(e)  # type: ignore[arg-type]
    return out


def _article(type_name: str) -> str:
    return "an" if type_name[:1] in ("a", "e", "i", "o", "u") else "a"


def _type_or_directive(value: Any) -> str:
    t = real_type_of(value)
    if t == "object" and any(k.startswith("@") for k in value):
        return "directive"
    return t


def _is_directive(obj: Any) -> bool:
    return type(obj) is dict and is_directive(obj)


def _validate_directive(obj: Any, stack: Stack) -> None:
    if not _is_directive(obj) and type(obj) is not dict:
        t = real_type_of(obj)
        raise _VError(f"should be a directive object but it is {_article(t)} {t}", stack)
    keys = keys_in_order(obj)
    directive_keys = [k for k in keys if k.startswith("@")]
    if len(directive_keys) > 1:
        raise _VError(f"should only have one @-prefixed key but it has {len(directive_keys)} keys", stack)
    other_keys = [k for k in keys if not k.startswith("@") and k != "_metadata"]
    if other_keys:
        raise _VError(f"should only have one @-prefixed key but it has {len(keys)} keys", stack)
    key = directive_keys[0]
    fn = _DIRECTIVES.get(key)
    if fn is None:
        raise _VError(f"has an invalid directive: {key}", stack)
    fn(obj[key], stack + (key,))


def _directive_or_raw(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t == "directive":
        _validate_directive(v, stack)
    elif t in ("object", "array", "boolean", "string", "number", "null"):
        return
    else:
        raise _VError(f"should be a mapping directive or a JSON value but it is {_article(t)} {t}", stack)


def _directive_or_string(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t == "directive":
        _validate_directive(v, stack)
    elif t != "string":
        raise _VError(f"should be a string or a mapping directive but it is {_article(t)} {t}", stack)


def _directive_or_object(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t == "directive":
        _validate_directive(v, stack)
    elif t == "object":
        _validate_object(v, stack)
    else:
        raise _VError(f"should be a object or a mapping directive but it is {_article(t)} {t}", stack)


def _chain(*validators: Callable[[Any, Stack], None]) -> Callable[[Any, Stack], None]:
    def run(v: Any, stack: Stack) -> None:
        for validator in validators:
            validator(v, stack)

    return run


def _string_length(lo: int, hi: int) -> Callable[[Any, Stack], None]:
    def run(v: Any, stack: Stack) -> None:
        if type(v) is str and utf16_len(v) < lo:
            raise _VError(f"should be a string of length {lo} or greater", stack)
        if type(v) is str and utf16_len(v) > hi:
            raise _VError(f"should be a string of length {hi} or less", stack)

    return run


def _string(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t != "string":
        raise _VError(f"should be a string but it is {_article(t)} {t}", stack)


def _allowed_strings(*allowed: str) -> Callable[[Any, Stack], None]:
    def run(v: Any, stack: Stack) -> None:
        _string(v, stack)
        if v.lower() not in allowed:
            raise _VError(f"should be one of {', '.join(allowed)} but it is {json_stringify(v)}", stack)

    return run


def _boolean(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t != "boolean":
        raise _VError(f"should be a boolean but it is {_article(t)} {t}", stack)


def _validate_object(value: Any, stack: Stack) -> None:
    t = _type_or_directive(value)
    if t != "object":
        raise _VError(f"should be an object but it is {_article(t)} {t}", stack)
    keys = keys_in_order(value)
    for k in keys:
        if k[:1] == "@":
            raise _VError(
                f"shouldn't have directive (@-prefixed) keys but it has {json_stringify(k)}", stack
            )
    errors: list[Exception] = []
    for k in keys:
        try:
            _validate(value[k], stack + (k,))
        except (_VError, _Aggregate) as e:
            errors.append(e)
    if errors:
        raise _Aggregate(_flat(errors))


_Field = tuple[str, Callable[[Any, Stack], None]]  # ("required"|"optional", validator)


def _object_with_fields(value: Any, fields: dict[str, _Field], stack: Stack) -> None:
    _validate_object(value, stack)
    errors: list[Exception] = []
    for prop, (kind, validator) in fields.items():
        try:
            v = value.get(prop, UNDEFINED)
            if kind == "required":
                if v is UNDEFINED:
                    raise _VError(f"should have field {json_stringify(prop)} but it doesn't", stack)
                validator(v, stack + (prop,))
            elif v is not UNDEFINED:
                validator(v, stack + (prop,))
        except (_VError, _Aggregate) as e:
            errors.append(e)
    if errors:
        raise _Aggregate(_flat(errors))


def _array(v: Any, stack: Stack) -> None:
    t = real_type_of(v)
    if t != "array":
        raise _VError(f"should be an array but it is {_article(t)} {t}", stack)


def _v_if(v: Any, stack: Stack) -> None:
    _object_with_fields(
        v,
        {
            "exists": ("optional", _directive_or_raw),
            "then": ("optional", _directive_or_raw),
            "else": ("optional", _directive_or_raw),
        },
        stack,
    )


def _v_case(v: Any, stack: Stack) -> None:
    _object_with_fields(
        v, {"operator": ("optional", _string), "value": ("optional", _directive_or_string)}, stack
    )


def _v_replace(v: Any, stack: Stack) -> None:
    _object_with_fields(
        v,
        {
            "pattern": ("required", _chain(_string, _string_length(1, MAX_PATTERN_LENGTH))),
            "replacement": ("optional", _chain(_string, _string_length(0, MAX_REPLACEMENT_LENGTH))),
            "value": ("required", _directive_or_string),
            "ignorecase": ("optional", _boolean),
            "global": ("optional", _boolean),
        },
        stack,
    )


def _v_array_path(v: Any, stack: Stack) -> None:
    _array(v, stack)
    _directive_or_string(v[0] if len(v) > 0 else UNDEFINED, stack)
    _validate(v[1] if len(v) > 1 else UNDEFINED, stack)


def _v_path(v: Any, stack: Stack) -> None:
    _directive_or_string(v, stack)


def _v_json(v: Any, stack: Stack) -> None:
    _object_with_fields(
        v,
        {"value": ("required", _directive_or_raw), "mode": ("required", _allowed_strings("encode", "decode"))},
        stack,
    )


def _v_flatten(v: Any, stack: Stack) -> None:
    _object_with_fields(
        v, {"separator": ("optional", _string), "value": ("required", _directive_or_raw)}, stack
    )


def _v_merge(v: Any, stack: Stack) -> None:
    _object_with_fields(
        v,
        {"direction": ("optional", _allowed_strings("left", "right")), "objects": ("required", _array)},
        stack,
    )
    for obj in v["objects"]:
        _directive_or_object(obj, ())  # upstream passes no stack here: paths start at "/"


def _v_transform(v: Any, stack: Stack) -> None:
    _object_with_fields(
        v,
        {"apply": ("required", _directive_or_object), "mapping": ("required", _directive_or_object)},
        stack,
    )


_DIRECTIVES: dict[str, Callable[[Any, Stack], None]] = {
    "@if": _v_if,
    "@case": _v_case,
    "@replace": _v_replace,
    "@arrayPath": _v_array_path,
    "@path": _v_path,
    "@json": _v_json,
    "@flatten": _v_flatten,
    "@merge": _v_merge,
    "@template": _v_path,
    "@literal": _directive_or_raw,
    "@transform": _v_transform,
    "@excludeWhenNull": _directive_or_raw,
    "@liquid": _string,
}


def _validate(mapping: Any, stack: Stack) -> None:
    t = _type_or_directive(mapping)
    if t == "directive":
        _validate_directive(mapping, stack)
    elif t == "object":
        _validate_object(mapping, stack)
    elif t == "array":
        _array(mapping, stack)


def collect_errors(mapping: Any) -> list[tuple[str, str]]:
    """All validation errors of `mapping` as (json_path, message); empty when valid."""
    try:
        _validate(mapping, ())
    except _VError as e:
        return [(e.path, e.full)]
    except _Aggregate as e:
        return [(err.path, err.full) for err in e.errors]
    return []
