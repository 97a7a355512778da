"""Small JavaScript semantics the reference's code relies on (truthiness, ``String(x)``,
object spread), for values decoded from JSON."""

from __future__ import annotations

import math
from typing import Any, Final

from amprelay.js.json import (  # noqa: F401 - re-exported
    _INDEX_KEY,
    _SHAPE,
    _needs_js_walk,
    is_array_index,
    js_key_order,
    js_values,
    parse,
)


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()


def truthy(value: Any) -> bool:
    """JavaScript truthiness: ``""``, ``0``, ``NaN``, ``null``, ``false``, undefined are falsy;
    objects and arrays (even empty) are truthy."""
    if value is None or value is False or value is UNDEFINED:
        return False
    t = type(value)
    if t is str:
        return value != ""
    if t is int:
        return value != 0
    if t is float:
        return value == value and value != 0.0
    return True


def js_string(value: Any) -> str:
    """``String(value)`` for JSON values (as ``URLSearchParams`` converts its values)."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if -(2**53) <= value <= 2**53:
            return str(value)
        value = float(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        from amprelay.destination.request import js_number_text

        return js_number_text(value)
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    return "[object Object]"


def spread(value: Any) -> dict[str, Any]:
    """The own enumerable properties ``{...value}`` copies."""
    t = type(value)
    if t is dict:
        return value
    if t is str:
        return {str(i): ch for i, ch in enumerate(value)}
    if t is list:
        return {str(i): v for i, v in enumerate(value)}
    return {}


def js_round(x: int | float) -> int | float:
    """``Math.round``: halves round towards +Infinity."""
    if type(x) is int:
        return x
    if x != x or math.isinf(x):
        return x
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


# JSON.parse and the way JavaScript holds its values live in amprelay.js.json; re-exported here.
js_json_loads = parse
