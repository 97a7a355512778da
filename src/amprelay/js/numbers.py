"""JavaScript numbers: ``Number::toString`` (``String(x)``), ``Number(string)``, ``Math.round``.

JavaScript has one number type, an IEEE double. JSON values hold it as ``int`` (integral values
within 2**53, as ``JSON.parse`` results are normalised) or ``float``; ``bool`` is not a number.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .strings import WHITESPACE
from .undefined import UNDEFINED

__all__ = [
    "MAX_SAFE_INTEGER",
    "as_number",
    "js_number",
    "js_numbers",
    "normalize_number",
    "number_to_string",
    "round_half_up",
    "string_to_number",
    "to_number",
]

#: 2**53: integers beyond it are not all representable as doubles (JS rounds them).
MAX_SAFE_INTEGER = 2**53


def _to_double(x: int) -> float:
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def number_to_string(x: int | float) -> str:
    """ECMAScript ``Number::toString(x)`` in radix 10: ``1e21 -> "1e+21"``, ``1e-7 -> "1e-7"``,
    ``1.0 -> "1"``, ``-0 -> "0"``; an integer beyond 2**53 is written as the double JS holds."""
    if type(x) is not float:
        if -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER:
            return str(int(x))
        x = _to_double(int(x))
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if x in (math.inf, -math.inf):
        return "Infinity" if x > 0 else "-Infinity"
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(x)).partition("e")  # shortest round-trip digits, as JS uses
    int_part, _, frac_part = mantissa.partition(".")
    all_digits = int_part + frac_part
    digits = all_digits.lstrip("0")
    # the value is 0.DIGITS * 10**n (ECMAScript's n)
    n = len(int_part) + (int(exp) if exp else 0) - (len(all_digits) - len(digits))
    digits = digits.rstrip("0")
    k = len(digits)
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


_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\Z")
_RADIX = re.compile(r"0(?:[xX]([0-9a-fA-F]+)|[oO]([0-7]+)|[bB]([01]+))\Z")


def string_to_number(text: str) -> float:
    """ECMAScript ``ToNumber`` of a string (``Number(s)``, ``+s``): NaN unless it is a numeric
    literal after trimming JS whitespace; ``""`` is 0; ``0x``/``0o``/``0b`` prefixes are read."""
    s = text.strip(WHITESPACE)
    if not s:
        return 0.0
    if _DECIMAL.match(s):
        if s[-1] == "y":  # [+-]Infinity
            return -math.inf if s[0] == "-" else math.inf
        return float(s)
    m = _RADIX.match(s)
    if m:
        hex_digits, oct_digits, bin_digits = m.groups()
        if hex_digits:
            return _to_double(int(hex_digits, 16))
        if oct_digits:
            return _to_double(int(oct_digits, 8))
        return _to_double(int(bin_digits, 2))
    return math.nan


def as_number(value: Any) -> float | None:
    """The double of a JSON number value (``bool`` is not a number); ``None`` for anything else."""
    t = type(value)
    if t is float:
        return value
    if t is int:
        return _to_double(value)
    return None


def to_number(value: Any) -> float:
    """ECMAScript ``ToNumber`` for JSON values: ``undefined`` is NaN, ``null`` is 0, booleans are
    0/1, strings are read by :func:`string_to_number`, objects and arrays are NaN here."""
    if value is UNDEFINED:
        return math.nan
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    n = as_number(value)
    if n is not None:
        return n
    if type(value) is str:
        return string_to_number(value)
    return math.nan


def normalize_number(x: float) -> int | float:
    """A JS number as the most natural Python value: integral safe values become ``int``."""
    if x == x and -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER and x == int(x):
        return int(x)
    return x


#: integral doubles from here on are written alike by JSON.stringify and orjson ("1e+21")
_EXPONENT_FORM = 1e21


def js_number(x: float) -> int | float:
    """``x`` as a value ``orjson`` writes exactly as ``JSON.stringify`` writes ``x``, outside
    ``1e-6 <= |x| < 1e-5`` (orjson's ``1e-6``, JavaScript's ``0.000001``): an integral double
    below 1e21 becomes the ``int`` of the same value (``-0.0`` is ``0``; one beyond 2**53 is an
    int ``orjson``'s strict-integer mode refuses, so the exact writer takes it). The value does
    not change: JavaScript has one number type. Every other float is returned as it is (orjson
    and ``Number::toString`` both write the shortest round-trip digits, in the same notation)."""
    if x.is_integer() and -_EXPONENT_FORM < x < _EXPONENT_FORM:
        return int(x)
    return x


def js_numbers(value: Any) -> Any:
    """``value`` (JSON data) with every float as :func:`js_number` gives it; containers are copied
    only where something changed (``value`` itself when nothing did). Raises ``RecursionError``
    for data nested beyond the interpreter's limit."""
    t = type(value)
    if t is float:
        return js_number(value)
    if t is dict:
        out = None
        for k, v in value.items():
            tv = type(v)
            if tv is float or tv is dict or tv is list:
                n = js_numbers(v)
                if n is not v:
                    if out is None:
                        out = value.copy()
                    out[k] = n
        return value if out is None else out
    if t is list:
        new = None
        for i, v in enumerate(value):
            tv = type(v)
            if tv is float or tv is dict or tv is list:
                n = js_numbers(v)
                if n is not v:
                    if new is None:
                        new = list(value)
                    new[i] = n
        return value if new is None else new
    return value


def round_half_up(x: int | float) -> int | float:
    """``Math.round``: halves round towards +Infinity; NaN and infinities are returned as is."""
    if type(x) is int:
        return x
    if x != x or math.isinf(x):
        return x
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r
