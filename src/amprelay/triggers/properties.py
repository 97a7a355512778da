"""Property access as the reference trigger engine performs it in Node.

`get(event, path)` walks `obj && obj[key]`: strings, arrays and prototypes have properties of
their own (`properties.length`, `properties.constructor`), and reading `caller` off a function
throws. `None` stands for both `null` and `undefined`: no trigger operator tells them apart.
"""

from __future__ import annotations

import re
from typing import Any

from amprelay.errors import AmprelayError
from amprelay.js import FUNCTION_NAMES, PROTOTYPES, JSFunction, to_utf16, truthy

__all__ = ["JSThrow", "JS_OBJECT", "OBJECT_PROTO_NAMES", "js_get_path", "js_prop", "path_keys"]


class JSThrow(AmprelayError):
    """An exception the reference would throw while evaluating (a JS TypeError)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _JSObject:
    """An opaque, non-null JS object (e.g. `{}.__proto__`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "JS_OBJECT"


JS_OBJECT = _JSObject()

_STRICT_FN_MESSAGE = (
    "'caller', 'callee', and 'arguments' properties may not be accessed on strict mode functions "
    "or the arguments objects for calls to them"
)


def _chain(constructor: str) -> dict[str, JSFunction]:
    table = {
        name: JSFunction(FUNCTION_NAMES.get(name, name), length)
        for name, length in PROTOTYPES[constructor].items()
    }
    table["constructor"] = JSFunction(constructor, 1)
    return table


_PROTO_OBJECT = _chain("Object")
_PROTO_ARRAY = _chain("Array")
_PROTO_STRING = _chain("String")
_PROTO_NUMBER = _chain("Number")
_PROTO_BOOLEAN = _chain("Boolean")
_PROTO_FUNCTION = _chain("Function")

#: Keys a plain object answers even when it does not own them.
OBJECT_PROTO_NAMES = frozenset(_PROTO_OBJECT) | {"__proto__"}

_INDEX_RE = re.compile(r"(?:0|[1-9][0-9]*)\Z")


def js_prop(obj: Any, key: str) -> Any:
    """`obj[key]` for a non-null JS value built from JSON."""
    t = type(obj)
    if t is dict:
        if key in obj:
            return obj[key]
        if key == "__proto__":
            return JS_OBJECT
        return _PROTO_OBJECT.get(key)
    if t is list:
        if _INDEX_RE.match(key):
            i = int(key)
            return obj[i] if i < len(obj) else None
        if key == "length":
            return len(obj)
        if key == "__proto__":
            return JS_OBJECT
        return _PROTO_ARRAY.get(key)
    if t is str:
        if _INDEX_RE.match(key) or key == "length":
            units = to_utf16(obj)
            if key == "length":
                return len(units)
            i = int(key)
            return units[i] if i < len(units) else None
        if key == "__proto__":
            return JS_OBJECT
        return _PROTO_STRING.get(key)
    if t is bool:
        if key == "__proto__":
            return JS_OBJECT
        return _PROTO_BOOLEAN.get(key)
    if t is int or t is float:
        if key == "__proto__":
            return JS_OBJECT
        return _PROTO_NUMBER.get(key)
    if t is JSFunction:
        if key == "name":
            return obj.name
        if key == "length":
            return obj.length
        if key in ("caller", "arguments"):
            raise JSThrow(_STRICT_FN_MESSAGE)
        if key == "__proto__":
            return JS_OBJECT
        return _PROTO_FUNCTION.get(key)
    if obj is JS_OBJECT:
        return _PROTO_OBJECT.get(key)
    return None


_PATH_RE = re.compile(r"[^\[.\]]+")


def path_keys(name: str) -> tuple[str, ...] | None:
    """The keys `get()` walks for a path name; None where the reference's regex finds none."""
    keys = _PATH_RE.findall(name)
    return tuple(keys) if keys else None


def js_get_path(obj: Any, keys: tuple[str, ...]) -> Any:
    """`keys.reduce((o, k) => o && o[k], obj)` with JS truthiness."""
    for key in keys:
        if not truthy(obj):
            return obj
        obj = js_prop(obj, key)
    return obj
