"""JavaScript number semantics that the reference relies on (ToNumber on strings, Number#toString).

ajv coerces strings with ``+data`` and numbers to strings with ``"" + data``; Python's ``float()`` and
``str()`` differ from those in many corners (``"0x10"``, ``"1_0"``, ``"nan"``, ``1e16``, ``1e-7``), so the
validator uses these helpers instead.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "JS_WHITESPACE",
    "js_number_to_string",
    "js_string_to_number",
    "js_typeof",
    "normalize_number",
]

# WhiteSpace and LineTerminator code points of ECMA-262 (what String.prototype.trim and ToNumber strip,
# and what a JS regex ``\s`` matches).
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)

_DECIMAL = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\Z", re.ASCII
)
_RADIX = re.compile(r"0(?:([xX])([0-9a-fA-F]+)|([oO])([0-7]+)|([bB])([01]+))\Z", re.ASCII)
_MAX_SAFE = 2**53


def js_string_to_number(s: str) -> float:
    """ECMAScript ``ToNumber`` applied to a string (``+s``); NaN when it is not a numeric literal."""
    t = s.strip(JS_WHITESPACE)
    if not t:
        return 0.0
    if _DECIMAL.match(t):
        if t[-1] == "y":  # [+-]Infinity
            return -math.inf if t[0] == "-" else math.inf
        return float(t)
    m = _RADIX.match(t)
    if m:
        if m.group(2):
            return float(int(m.group(2), 16))
        if m.group(4):
            return float(int(m.group(4), 8))
        return float(int(m.group(6), 2))
    return math.nan


def normalize_number(x: float) -> int | float:
    """A JS number as the most natural Python value: integral safe values become ``int``."""
    if x == x and -_MAX_SAFE <= x <= _MAX_SAFE and x == int(x):
        return int(x)
    return x


def js_number_to_string(x: int | float) -> str:
    """ECMAScript ``Number::toString(x)`` (radix 10), e.g. ``1e21 -> "1e+21"``, ``1e-7 -> "1e-7"``."""
    if type(x) is int:
        if -_MAX_SAFE <= x <= _MAX_SAFE:
            return str(x)
        x = float(x)
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if x < 0:
        return "-" + js_number_to_string(-x)
    if x == math.inf:
        return "Infinity"
    r = repr(x)  # shortest round-trip digits, like JS
    mantissa, _, exp = r.partition("e")
    e = int(exp) if exp else 0
    int_part, _, frac = mantissa.partition(".")
    if frac == "0":
        frac = ""
    digits = (int_part + frac).lstrip("0")
    # value = 0.digits * 10**n  (JS: s * 10**(n-k))
    n = len(int_part) + e if int_part != "0" else e - (len(frac) - len(frac.lstrip("0")))
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    exp_s = n - 1
    sign = "+" if exp_s >= 0 else "-"
    if k == 1:
        return f"{digits}e{sign}{abs(exp_s)}"
    return f"{digits[0]}.{digits[1:]}e{sign}{abs(exp_s)}"


def js_typeof(v: object) -> str:
    """``typeof`` of a decoded JSON value, with arrays and null told apart the way ajv-human-errors does."""
    t = type(v)
    if t is str:
        return "string"
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if v is None:
        return "null"
    if t is list or t is tuple:
        return "array"
    if t is not dict:  # a JS function reached through a prototype declares itself
        return getattr(v, "js_typeof", "object")
    return "object"
