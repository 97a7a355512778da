"""JavaScript value semantics needed by mapping-kit, over JSON-shaped Python values.

Values are dict, list, str, int, float, bool, None and the `UNDEFINED` sentinel (JS `undefined`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = [
    "UNDEFINED",
    "Undefined",
    "JSFunction",
    "real_type_of",
    "js_truthy",
    "js_number_to_string",
    "js_to_string",
    "js_keys",
    "is_array_index",
    "json_stringify",
    "json_parse",
    "utf16_units",
    "utf16_len",
    "js_trim",
    "remove_undefined",
    "to_json_compatible",
]


class Undefined:
    """The JS `undefined` value (distinct from JSON null, which is Python None)."""

    __slots__ = ()
    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED = Undefined()


class JSFunction:
    """A built-in JS function reached through a prototype property (`obj.constructor`,
    `arr.map`, ...). `String(f)` is `function NAME() { [native code] }`; JSON drops it."""

    __slots__ = ("name",)
    js_typeof = "function"  # what `typeof` says of it (read by the field validator's messages)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"JSFunction({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JSFunction) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("JSFunction", self.name))

_MAX_SAFE = 2**53


def real_type_of(value: Any) -> str:
    """`Object.prototype.toString.call(v).slice(8, -1).toLowerCase()`."""
    t = type(value)
    if t is dict:
        return "object"
    if t is str:
        return "string"
    if t is list:
        return "array"
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if type(value) is JSFunction:
        return "function"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def js_truthy(value: Any) -> bool:
    """JS ToBoolean."""
    t = type(value)
    if t is dict or t is list:
        return True
    if t is str:
        return value != ""
    if t is bool:
        return value
    if t is int:
        return value != 0
    if t is float:
        return value != 0.0 and value == value
    if value is None or value is UNDEFINED:
        return False
    return True


def js_number_to_string(num: int | float) -> str:
    """JS `Number.prototype.toString()` (radix 10) for a finite or non-finite number."""
    if type(num) is int or type(num) is bool:
        if -_MAX_SAFE <= num <= _MAX_SAFE:
            return str(int(num))
        num = float(num)
    if num != num:
        return "NaN"
    if num == math.inf:
        return "Infinity"
    if num == -math.inf:
        return "-Infinity"
    if num == 0:
        return "0"
    if num.is_integer() and abs(num) < _MAX_SAFE:
        return str(int(num))
    sign = "-" if num < 0 else ""
    r = repr(abs(num))  # shortest round-trip digits, as JS uses
    if "e" in r:
        mant, exp_s = r.split("e")
        exp = int(exp_s)
    else:
        mant, exp = r, 0
    if "." in mant:
        int_part, frac = mant.split(".")
    else:
        int_part, frac = mant, ""
    if frac == "0":
        frac = ""
    digits = (int_part + frac).lstrip("0")
    # n: position of decimal point relative to digits start (JS spec's n)
    lead_zeros = len(int_part + frac) - len((int_part + frac).lstrip("0"))
    n = len(int_part) + exp - lead_zeros
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp_str = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return sign + digits + "e" + exp_str
    return sign + digits[0] + "." + digits[1:] + "e" + exp_str


def js_to_string(value: Any) -> str:
    """JS `String(value)`."""
    t = type(value)
    if t is str:
        return value
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return js_number_to_string(value)
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if t is list:
        return _array_join(value)
    if t is JSFunction:
        return f"function {value.name}() {{ [native code] }}"
    return "[object Object]"


def _array_join(arr: list) -> str:
    """`Array.prototype.join(',')`: null/undefined elements become ''."""
    parts = []
    for item in arr:
        if item is None or item is UNDEFINED:
            parts.append("")
        else:
            parts.append(js_to_string(item))
    return ",".join(parts)


def is_array_index(key: str) -> bool:
    """True when `key` is a canonical array index ("0", "17"; not "01", "-1", "1.0")."""
    return (
        key.isascii()
        and key.isdigit()
        and (key == "0" or key[0] != "0")
        and int(key) < 4294967295
    )


def js_keys(obj: dict) -> list:
    """`Object.keys(obj)` order: array-index keys ascending, then the rest in insertion order."""
    index_keys = None
    for k in obj:
        if type(k) is str and k[:1].isdigit() and is_array_index(k):
            index_keys = [k]
            break
    if index_keys is None:
        return list(obj)
    index_keys = [k for k in obj if is_array_index(k)]
    index_keys.sort(key=int)
    return index_keys + [k for k in obj if not is_array_index(k)]


def utf16_units(s: str) -> list[str]:
    """Split a string into UTF-16 code units (astral chars become two surrogate chars)."""
    if s.isascii() or max(s) <= "\uffff":
        return list(s)
    out = []
    for ch in s:
        o = ord(ch)
        if o > 0xFFFF:
            o -= 0x10000
            out.append(chr(0xD800 + (o >> 10)))
            out.append(chr(0xDC00 + (o & 0x3FF)))
        else:
            out.append(ch)
    return out


def utf16_len(s: str) -> int:
    """JS `string.length`."""
    if s.isascii():
        return len(s)
    return len(s) + sum(1 for ch in s if ch > "\uffff")


# JS String.prototype.trim: WhiteSpace + LineTerminator
_JS_WS = (
    "\u0009\u000a\u000b\u000c\u000d\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(s: str) -> str:
    return s.strip(_JS_WS)


# ---------------------------------------------------------------- JSON.stringify / JSON.parse

_ESCAPE_RE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quote(s: str) -> str:
    if not _ESCAPE_RE.search(s):
        return '"' + s + '"'

    def repl(m: re.Match) -> str:
        c = m.group(0)
        e = _ESCAPES.get(c)
        if e is not None:
            return e
        return f"\\u{ord(c):04x}"

    return '"' + _ESCAPE_RE.sub(repl, s) + '"'


def json_stringify(value: Any) -> str | Undefined:
    """JS `JSON.stringify(value)` (no indentation). Returns UNDEFINED for undefined input."""
    if value is UNDEFINED or type(value) is JSFunction:
        return UNDEFINED
    return _stringify(value)


def _stringify(value: Any) -> str:
    t = type(value)
    if t is str:
        return _quote(value)
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return js_number_to_string(value)
    if t is float:
        if value != value or value in (math.inf, -math.inf):
            return "null"
        return js_number_to_string(value)
    if value is None:
        return "null"
    if t is list:
        parts = []
        for item in value:
            if item is UNDEFINED or type(item) is JSFunction:
                parts.append("null")
            else:
                parts.append(_stringify(item))
        return "[" + ",".join(parts) + "]"
    if t is dict:
        parts = []
        for k in js_keys(value):
            v = value[k]
            if v is UNDEFINED or type(v) is JSFunction:
                continue
            parts.append(_quote(k) + ":" + _stringify(v))
        return "{" + ",".join(parts) + "}"
    return "null"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected token {name[0]} in JSON")


def _parse_int(s: str) -> int | float:
    v = int(s)
    if -_MAX_SAFE <= v <= _MAX_SAFE:
        return v
    return float(s)


def json_parse(text: str) -> Any:
    """JS `JSON.parse` (raises ValueError on invalid JSON, including NaN/Infinity literals)."""
    return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)


# ---------------------------------------------------------------- removeUndefined


def remove_undefined(value: Any) -> Any:
    """mapping-kit `removeUndefined`: a fresh deep copy of objects/arrays, dropping undefined
    object values (undefined array items stay)."""
    t = type(value)
    if t is dict:
        return {k: remove_undefined(v) for k, v in value.items() if v is not UNDEFINED}
    if t is list:
        return [remove_undefined(v) for v in value]
    return value


def to_json_compatible(value: Any) -> Any:
    """Like `JSON.parse(JSON.stringify(value))` for our values: undefined object values are
    dropped, undefined array items become None."""
    t = type(value)
    if t is dict:
        return {k: to_json_compatible(v) for k, v in value.items() if v is not UNDEFINED and type(v) is not JSFunction}
    if t is list:
        return [None if v is UNDEFINED or type(v) is JSFunction else to_json_compatible(v) for v in value]
    if t is float and (value != value or value in (math.inf, -math.inf)):
        return None
    return value
