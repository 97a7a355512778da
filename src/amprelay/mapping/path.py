"""mapping-kit `get(obj, path)`: the path syntax of @path, @arrayPath and @template."""

from __future__ import annotations

import re
from typing import Any

from amprelay.js import (
    FUNCTION_NAMES,
    PROTOTYPES,
    UNDEFINED,
    JSFunction,
    is_array_index,
    truthy,
    utf16_len,
    utf16_units,
)

__all__ = ["parse_path", "get_path", "strip_root", "js_index", "PROTO_KEYS", "OBJECT_PROTO_KEYS"]

# Properties a JSON value inherits from its prototype (Node 20), reachable by `obj[key]`.
_OBJECT_PROTO = frozenset(PROTOTYPES["Object"]) | {"__proto__"}
_ARRAY_PROTO = frozenset(PROTOTYPES["Array"]) | {"__proto__"}
_STRING_PROTO = frozenset(PROTOTYPES["String"]) | {"__proto__"}
_NUMBER_PROTO = frozenset(PROTOTYPES["Number"]) | {"__proto__"}
_FUNCTION_PROTO = frozenset(PROTOTYPES["Function"]) | {"__proto__"}
PROTO_KEYS = frozenset(_ARRAY_PROTO | _STRING_PROTO | _NUMBER_PROTO | _FUNCTION_PROTO | {"name"})
OBJECT_PROTO_KEYS = frozenset(_OBJECT_PROTO)  # what a plain object (dict) inherits


def _inherited(obj: Any, key: str) -> Any:
    """`obj[key]` for a key that is not an own property: prototype members."""
    names: frozenset[str]
    proto: Any
    t = type(obj)
    if t is dict:
        names, ctor, proto = _OBJECT_PROTO, "Object", {}
    elif t is list:
        names, ctor, proto = _ARRAY_PROTO, "Array", []
    elif t is str:
        names, ctor, proto = _STRING_PROTO, "String", ""
    elif t is bool:
        names, ctor, proto = _OBJECT_PROTO, "Boolean", False
    elif t is int or t is float:
        names, ctor, proto = _NUMBER_PROTO, "Number", 0
    elif t is JSFunction:
        if key == "name":
            return obj.name
        names, ctor, proto = _FUNCTION_PROTO, "Function", UNDEFINED
    else:
        return UNDEFINED
    if key not in names:
        return UNDEFINED
    if key == "constructor":
        return JSFunction(ctor)
    if key == "__proto__":
        return proto
    return JSFunction(FUNCTION_NAMES.get(key, key))

# `\[(?="|'|\d)|\.|(?<="|'|\d)]+` (JS \d is ASCII only)
_SPLIT_RE = re.compile(r"""\[(?=["'0-9])|\.|(?<=["'0-9])\]+""")
_QUOTES_RE = re.compile(r"""['"]""")


def strip_root(path: str) -> str:
    """`path.replace('$.', '')`: removes the FIRST occurrence of "$." anywhere."""
    return path.replace("$.", "", 1)


def parse_path(path: str) -> tuple[str, ...]:
    """Split a path into keys the way `get` does. An empty tuple means the object itself."""
    if path == "" or path == ".":
        return ()
    return tuple(_QUOTES_RE.sub("", part) for part in _SPLIT_RE.split(path) if part)


def js_index(obj: Any, key: str) -> Any:
    """`obj[key]` for a truthy non-dict JS value (own data properties only)."""
    t = type(obj)
    if t is list:
        if key == "length":
            return len(obj)
        if is_array_index(key):
            i = int(key)
            if i < len(obj):
                return obj[i]
            return UNDEFINED
        return _inherited(obj, key) if key in PROTO_KEYS else UNDEFINED
    if t is str:
        if key == "length":
            return utf16_len(obj)
        if is_array_index(key):
            i = int(key)
            if obj.isascii():
                return obj[i] if i < len(obj) else UNDEFINED
            units = utf16_units(obj)
            return units[i] if i < len(units) else UNDEFINED
        return _inherited(obj, key) if key in PROTO_KEYS else UNDEFINED
    if t is dict:
        v = obj.get(key, UNDEFINED)
        if v is UNDEFINED and key in OBJECT_PROTO_KEYS:
            return _inherited(obj, key)
        return v
    return _inherited(obj, key) if key in PROTO_KEYS else UNDEFINED


def get_path(obj: Any, keys: tuple[str, ...]) -> Any:
    """`keys.reduce((prev, key) => prev && prev[key], obj)`: stops at the first falsy value and
    returns it (so a path through `0`, `""`, `false` or `null` yields that value)."""
    for k in keys:
        if type(obj) is dict:
            v = obj.get(k, UNDEFINED)
            obj = _inherited(obj, k) if v is UNDEFINED and k in OBJECT_PROTO_KEYS else v
        elif not truthy(obj):
            return obj
        else:
            obj = js_index(obj, k)
    return obj
