"""``JSON.parse`` as Node reads a request body (numbers as doubles, keys in JS order).

Moves to ``amprelay.js.json`` (the JSON-reading module of the JavaScript package)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from amprelay.js import with_key_order

_MAX_SAFE = 2**53
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


def _js_values(value: Any) -> Any:
    t = type(value)
    if t is dict:
        return with_key_order({k: (_js_values(v) if type(v) in _WALK else v) for k, v in value.items()})
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
