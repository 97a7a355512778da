"""``JSON.stringify`` as Node writes it: numbers by ``Number::toString``, keys in JS order,
``undefined`` and functions dropped from objects and written ``null`` in arrays."""

from __future__ import annotations

import math
import re
from typing import Any

from .numbers import number_to_string
from .objects import keys_in_order
from .undefined import UNDEFINED, Undefined
from .values import JSFunction

__all__ = ["json_round_trip", "json_stringify"]

_ESCAPE_RE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    c = match.group(0)
    return _ESCAPES.get(c) or f"\\u{ord(c):04x}"


def _quote(s: str) -> str:
    if not _ESCAPE_RE.search(s):
        return '"' + s + '"'
    return '"' + _ESCAPE_RE.sub(_escape, s) + '"'


def _dropped(value: Any) -> bool:
    return value is UNDEFINED or type(value) is JSFunction


def json_stringify(value: Any) -> str | Undefined:
    """``JSON.stringify(value)`` without indentation; ``UNDEFINED`` for ``undefined`` or a function."""
    if _dropped(value):
        return UNDEFINED
    return _stringify(value)


def _stringify(value: Any) -> str:
    t = type(value)
    if t is str:
        return _quote(value)
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return number_to_string(value)
    if t is float:
        if value != value or value in (math.inf, -math.inf):
            return "null"
        return number_to_string(value)
    if t is list:
        return "[" + ",".join("null" if _dropped(item) else _stringify(item) for item in value) + "]"
    if t is dict:
        parts = [_quote(k) + ":" + _stringify(value[k]) for k in keys_in_order(value) if not _dropped(value[k])]
        return "{" + ",".join(parts) + "}"
    return "null"


def json_round_trip(value: Any) -> Any:
    """What ``JSON.parse(JSON.stringify(value))`` gives for a value already in JS order:
    ``undefined`` and functions leave objects and become ``null`` in arrays, NaN and ±Infinity
    become ``null``."""
    t = type(value)
    if t is dict:
        return {k: json_round_trip(v) for k, v in value.items() if not _dropped(v)}
    if t is list:
        return [None if _dropped(v) else json_round_trip(v) for v in value]
    if t is float and (value != value or value in (math.inf, -math.inf)):
        return None
    return value
