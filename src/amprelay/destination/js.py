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
_MAX_INDEX = 2**32 - 2
# What JSON.parse holds differently from orjson.loads: a long integer (JavaScript rounds it to a
# double) or an object key that is an array index ("0", "12": JavaScript lists those first, in
# numeric order). Only then is the value walked (integral floats are normalised on the way).
# Keys: digits are mapped to "0" and other bytes to "x" (whitespace dropped), then a quoted run of
# digits followed by ":" is looked for (text inside strings that looks like one only costs the walk).
# Long integers: orjson's 53-bit integer check.
_SHAPE = bytes(b"0"[0] if 0x30 <= b <= 0x39 else b if b in b'":' else b"x"[0] for b in range(256))
_INDEX_KEY = re.compile(rb'"0{1,10}":')
_LONG_DIGITS = b"0" * 16  # 2**53 has 16 digits: a shorter run of digits is a safe integer


def _needs_js_walk(raw: bytes, value: Any) -> bool:
    shape = raw.translate(_SHAPE, b" \t\n\r")
    if b'0":' in shape and _INDEX_KEY.search(shape):
        return True
    if _LONG_DIGITS not in shape:  # no run of 16 digits: no integer beyond 2**53 (cheap, common)
        return False
    try:
        orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return True
    return False


def is_array_index(key: str) -> bool:
    """Whether JavaScript treats ``key`` as an array index (canonical, below 2**32 - 1)."""
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) <= _MAX_INDEX


def js_key_order(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with JavaScript's property order: array-index keys first, ascending, then the
    others in insertion order (returns ``obj`` itself when it has no such key)."""
    index_keys = [k for k in obj if k[:1].isdigit() and is_array_index(k)]
    if not index_keys:
        return obj
    index_keys.sort(key=int)
    out = {k: obj[k] for k in index_keys}
    for k, v in obj.items():
        if k not in out:
            out[k] = v
    return out


def _js_values(value: Any) -> Any:
    t = type(value)
    if t is dict:
        return js_key_order({k: (_js_values(v) if type(v) in _WALK else v) for k, v in value.items()})
    if t is list:
        return [_js_values(v) if type(v) in _WALK else v for v in value]
    if t is float:
        if value.is_integer() and -_MAX_SAFE <= value <= _MAX_SAFE:
            return int(value)
        return value
    if t is int and not -_MAX_SAFE <= value <= _MAX_SAFE:
        return float(value)
    return value


_WALK = (dict, list, float, int)


def js_json_loads(data: bytes | str) -> Any:
    """``JSON.parse`` for Python: like ``orjson.loads``, except that values come out as JavaScript
    holds them: integers beyond 2**53 become the double JavaScript would hold
    (``1152921504606846976`` -> ``1.152921504606847e18``), array-index keys come first in every
    object, integral floats are ints (JavaScript has one number type); integers too large for
    orjson are read too."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = json.loads(raw)  # integers beyond 64 bits (raises on invalid JSON)
        return _js_values(value)
    if _needs_js_walk(raw, value):
        return _js_values(value)
    return value
