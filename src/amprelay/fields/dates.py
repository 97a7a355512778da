"""dayjs (1.11, with the utc plugin) and V8's ``Date`` string parser, as the reference uses them.

* ``dayjs_utc_value(x)`` is ``dayjs.utc(x).valueOf()``: numbers are milliseconds (fractions truncated);
  strings not ending in ``Z`` that match dayjs' ``REGEX_PARSE`` are read as UTC wall-clock parts (with
  JavaScript's ``Date.UTC`` overflow rules, so ``"1683000000000"`` is the year 1683); everything else goes to
  ``new Date(string)``, i.e. V8's date parser (ES5 ISO strings, then its legacy fallback: RFC 2822, month
  names, ``GMT+0530``, ``12/31/2023`` ...). Invalid dates give ``NaN``.
* ``is_date_like(s)`` is the ``date-like`` ajv format that actions-core registers.

Local time is UTC throughout (the reference answers were recorded with ``TZ=UTC``).
"""

from __future__ import annotations

from amprelay.js import number_to_string, string_to_number

from .jsdate import (
    DAYJS_PARSE,
    MAX_TIME_MS,
    NAN,
    iso_ms_z,
    js_date_utc,
    make_day,
    parse_js_date_string,
    time_clip,
)

__all__ = [
    "MAX_TIME_MS",
    "NAN",
    "dayjs_is_valid",
    "dayjs_utc_value",
    "is_date_like",
    "js_date_utc",
    "make_day",
    "parse_js_date_string",
]


# ---------------------------------------------------------------------------------------------------
# dayjs


def _dayjs_string(s: str) -> int | float:
    if not (s and s[-1] in "Zz"):
        d = DAYJS_PARSE.match(s)
        if d is not None:
            y, mo, day, h, mi, sec, frac = d.groups()
            month = int(mo) - 1 if mo else 0
            return js_date_utc(
                int(y), month, int(day) if day else 1, int(h) if h else 0, int(mi) if mi else 0,
                int(sec) if sec else 0, int(frac[:3]) if frac else 0,
            )
    return parse_js_date_string(s)


def _js_to_primitive_string(x: object) -> str | None:
    if isinstance(x, list):
        parts = []
        for e in x:
            if e is None:
                parts.append("")
                continue
            p = _js_to_primitive_string(e)
            if p is None:
                return None
            parts.append(p)
        return ",".join(parts)
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int | float):
        return number_to_string(x)
    if isinstance(x, dict):
        return "[object Object]"
    return None


def dayjs_utc_value(x: object) -> int | float:
    """``dayjs.utc(x).valueOf()``: epoch milliseconds as an ``int``, or ``float('nan')`` when invalid."""
    t = type(x)
    if t is str:
        v = iso_ms_z(x)  # type: ignore[arg-type]
        if v is not None:
            return v
        return _dayjs_string(x)  # type: ignore[arg-type]
    if t is int:
        return time_clip(x)  # type: ignore[arg-type]
    if t is float:
        return time_clip(x)  # type: ignore[arg-type]
    if t is bool:
        return 1 if x else 0
    if x is None:
        return NAN
    s = _js_to_primitive_string(x)
    if s is None:
        return NAN
    return parse_js_date_string(s)


def dayjs_is_valid(x: object) -> bool:
    """``dayjs.utc(x).isValid()``."""
    v = dayjs_utc_value(x)
    return v == v


def is_date_like(data: str) -> bool:
    """actions-core's ``date-like`` ajv format (applied to strings only)."""
    v = iso_ms_z(data)  # remembered for the action's conversion of the same string
    if v is not None:
        return v == v
    n = string_to_number(data)
    if number_to_string(n) == data:
        # dayjs.unix(Number(data))
        t = n * 1000
        return t == t and -MAX_TIME_MS <= t <= MAX_TIME_MS
    v = _dayjs_string(data)
    return v == v
