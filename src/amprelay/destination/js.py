"""Small JavaScript semantics the reference's code relies on (truthiness, ``String(x)``,
object spread), for values decoded from JSON."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import orjson


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


_MAX_SAFE = 2**53
# A long integer is held differently by JSON.parse (JavaScript rounds it to a double); only then is
# the value walked (integral floats are normalised on the way). Text inside strings only costs a walk.
_NUMBER_SUSPECTS = re.compile(rb"[0-9]{16}")


def _js_numbers(value: Any) -> Any:
    t = type(value)
    if t is dict:
        return {k: (_js_numbers(v) if type(v) in _WALK else v) for k, v in value.items()}
    if t is list:
        return [_js_numbers(v) if type(v) in _WALK else v for v in value]
    if t is float:
        if value.is_integer() and -_MAX_SAFE <= value <= _MAX_SAFE:
            return int(value)
        return value
    if t is int and not -_MAX_SAFE <= value <= _MAX_SAFE:
        return float(value)
    return value


_WALK = (dict, list, float, int)


def js_json_loads(data: bytes | str) -> Any:
    """``JSON.parse`` for Python: like ``orjson.loads``, except that numbers come out as JavaScript
    holds them. JavaScript has one number type, so an integral value is an ``int`` (``24.0`` -> ``24``)
    and integers beyond 2**53 become the double JavaScript would hold (``1152921504606846976`` ->
    ``1.152921504606847e18``); integers too large for orjson are read too."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = json.loads(raw)  # integers beyond 64 bits (raises on invalid JSON)
        return _js_numbers(value)
    if _NUMBER_SUSPECTS.search(raw):
        return _js_numbers(value)
    return value
