"""JavaScript value semantics the reference trigger engine relies on.

The reference (`@segment/destination-subscriptions`) runs in Node. Its answers depend on a few JS
behaviours that differ from Python: `String(number)`, `Number(string)`, UTF-16 string units, and
property access (`obj && obj[key]`, where strings, arrays and prototypes have properties of their
own). This module reproduces those for JSON values (dict, list, str, int, float, bool, None).

`None` stands for both `null` and `undefined`: no trigger operator tells them apart.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "JSFunction",
    "JSThrow",
    "JS_OBJECT",
    "js_get_path",
    "js_number",
    "js_number_to_string",
    "js_prop",
    "js_string_to_number",
    "js_to_number",
    "js_to_string",
    "path_keys",
    "to_utf16",
    "from_utf16",
    "has_surrogates",
]


class JSThrow(Exception):
    """An exception the reference would throw while evaluating (a JS TypeError)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JSFunction:
    """A JS function value reached through a prototype (e.g. `properties.toString`)."""

    __slots__ = ("name", "length")

    def __init__(self, name: str, length: int) -> None:
        self.name = name
        self.length = length

    def __repr__(self) -> str:
        return f"JSFunction({self.name!r})"


class _JSObject:
    """An opaque, non-null JS object (e.g. `{}.__proto__`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "JS_OBJECT"


JS_OBJECT = _JSObject()

# Names found on the prototype chains in Node 20 (recorded with `Object.getOwnPropertyNames`),
# with each function's `name` and `length`.
_OBJECT_PROTO: dict[str, tuple[str, int]] = {
    "__defineGetter__": ("__defineGetter__", 2),
    "__defineSetter__": ("__defineSetter__", 2),
    "__lookupGetter__": ("__lookupGetter__", 1),
    "__lookupSetter__": ("__lookupSetter__", 1),
    "constructor": ("Object", 1),
    "hasOwnProperty": ("hasOwnProperty", 1),
    "isPrototypeOf": ("isPrototypeOf", 1),
    "propertyIsEnumerable": ("propertyIsEnumerable", 1),
    "toLocaleString": ("toLocaleString", 0),
    "toString": ("toString", 0),
    "valueOf": ("valueOf", 0),
}
_ARRAY_METHODS = {
    "at": 1, "concat": 1, "copyWithin": 2, "entries": 0, "every": 1, "fill": 1, "filter": 1,
    "find": 1, "findIndex": 1, "findLast": 1, "findLastIndex": 1, "flat": 0, "flatMap": 1,
    "forEach": 1, "includes": 1, "indexOf": 1, "join": 1, "keys": 0, "lastIndexOf": 1, "map": 1,
    "pop": 0, "push": 1, "reduce": 1, "reduceRight": 1, "reverse": 0, "shift": 0, "slice": 2,
    "some": 1, "sort": 1, "splice": 2, "toLocaleString": 0, "toReversed": 0, "toSorted": 1,
    "toSpliced": 2, "toString": 0, "unshift": 1, "values": 0, "with": 2,
}
_STRING_METHODS = {
    "anchor": 1, "at": 1, "big": 0, "blink": 0, "bold": 0, "charAt": 1, "charCodeAt": 1,
    "codePointAt": 1, "concat": 1, "endsWith": 1, "fixed": 0, "fontcolor": 1, "fontsize": 1,
    "includes": 1, "indexOf": 1, "isWellFormed": 0, "italics": 0, "lastIndexOf": 1, "link": 1,
    "localeCompare": 1, "match": 1, "matchAll": 1, "normalize": 0, "padEnd": 1, "padStart": 1,
    "repeat": 1, "replace": 2, "replaceAll": 2, "search": 1, "slice": 2, "small": 0, "split": 2,
    "startsWith": 1, "strike": 0, "sub": 0, "substr": 2, "substring": 2, "sup": 0,
    "toLocaleLowerCase": 0, "toLocaleString": 0, "toLocaleUpperCase": 0, "toLowerCase": 0,
    "toString": 0, "toUpperCase": 0, "toWellFormed": 0, "trim": 0, "trimEnd": 0, "trimLeft": 0,
    "trimRight": 0, "trimStart": 0, "valueOf": 0,
}
_NUMBER_METHODS = {
    "toExponential": 1, "toFixed": 1, "toLocaleString": 0, "toPrecision": 1, "toString": 1, "valueOf": 0,
}
_BOOLEAN_METHODS = {"toString": 0, "valueOf": 0}
_FUNCTION_METHODS = {"apply": 2, "bind": 1, "call": 1, "toString": 0}

_STRICT_FN_MESSAGE = (
    "'caller', 'callee', and 'arguments' properties may not be accessed on strict mode functions "
    "or the arguments objects for calls to them"
)


def _chain(own: dict[str, int], constructor: str) -> dict[str, JSFunction]:
    table = {name: JSFunction(fname, length) for name, (fname, length) in _OBJECT_PROTO.items()}
    table.update({name: JSFunction(name, length) for name, length in own.items()})
    table["constructor"] = JSFunction(constructor, 1)
    return table


_PROTO_OBJECT = _chain({}, "Object")
_PROTO_ARRAY = _chain(_ARRAY_METHODS, "Array")
_PROTO_STRING = _chain(_STRING_METHODS, "String")
_PROTO_NUMBER = _chain(_NUMBER_METHODS, "Number")
_PROTO_BOOLEAN = _chain(_BOOLEAN_METHODS, "Boolean")
_PROTO_FUNCTION = _chain(_FUNCTION_METHODS, "Function")

#: Keys a plain object answers even when it does not own them.
OBJECT_PROTO_NAMES = frozenset(_PROTO_OBJECT) | {"__proto__"}

_INDEX_RE = re.compile(r"(?:0|[1-9][0-9]*)\Z")


# --- UTF-16 -------------------------------------------------------------------------------------

def has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" or ch > "\uffff" for ch in text)


def to_utf16(text: str) -> str:
    """Spell astral characters as two surrogate code units, as JS strings hold them."""
    if not any(ch > "\uffff" for ch in text):
        return text
    out = []
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            out.append(chr(0xD800 + (cp >> 10)))
            out.append(chr(0xDC00 + (cp & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out)


def from_utf16(units: str) -> str:
    """Join surrogate pairs back into code points (lone surrogates stay)."""
    if not any("\ud800" <= ch <= "\udfff" for ch in units):
        return units
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


# --- Numbers ------------------------------------------------------------------------------------

def js_number_to_string(x: float) -> str:
    """`String(x)` for a JS number (ECMAScript Number::toString)."""
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(float(x))).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    all_digits = int_part + frac_part
    digits = all_digits.lstrip("0")
    point = len(int_part) + (int(exp) if exp else 0) - (len(all_digits) - len(digits))
    digits = digits.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp_text = f"e+{e}" if e >= 0 else f"e-{-e}"
    if k == 1:
        return sign + digits + exp_text
    return sign + digits[0] + "." + digits[1:] + exp_text


_JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_RADIX_RE = re.compile(r"0([xXoObB])([0-9a-fA-F]+)\Z")


def js_string_to_number(text: str) -> float:
    """`Number(text)` for a JS string."""
    s = text.strip(_JS_WS)
    if not s:
        return 0.0
    if _DECIMAL_RE.match(s):
        return float(s)
    if s in ("Infinity", "+Infinity"):
        return math.inf
    if s == "-Infinity":
        return -math.inf
    m = _RADIX_RE.match(s)
    if m:
        base = {"x": 16, "o": 8, "b": 2}[m.group(1).lower()]
        try:
            return float(int(m.group(2), base))
        except (ValueError, OverflowError):
            return math.nan if base != 16 else math.inf
    return math.nan


def js_number(value: Any) -> float | None:
    """The JS number for a JSON number value (bool is not a number); None otherwise."""
    t = type(value)
    if t is float:
        return value
    if t is int:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return None


def js_to_number(value: Any) -> float:
    """`Number(value)` for the values a trigger can hold as its expected value."""
    if value is None:
        return math.nan  # undefined
    if value is True:
        return 1.0
    if value is False:
        return 0.0
    n = js_number(value)
    if n is not None:
        return n
    if isinstance(value, str):
        return js_string_to_number(value)
    return math.nan


def js_to_string(value: Any) -> str:
    """`String(value)` for the values a trigger can hold as its expected value."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "undefined"
    n = js_number(value)
    if n is not None:
        return js_number_to_string(n)
    return str(value)


# --- Property access ----------------------------------------------------------------------------

def _is_falsy(value: Any) -> bool:
    if value is None or value is False:
        return True
    t = type(value)
    if t is str:
        return value == ""
    if t is int or t is float:
        return value == 0 or value != value
    return False


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
        if _is_falsy(obj):
            return obj
        obj = js_prop(obj, key)
    return obj
