"""ECMAScript date arithmetic (``Date.UTC``, ``MakeDay``, ``TimeClip``) and ``Date.parse`` as V8
implements it: the ES5 ISO fast path, then V8's legacy parser (:mod:`.v8date`)."""

from __future__ import annotations

import math
import re

from amprelay.js import WHITESPACE

from .v8date import (
    AM_PM,
    EOI,
    INVALID_TOK,
    K_NONE,
    MONTH_NAME,
    NUMBER,
    TIME_ZONE_NAME,
    WHITESPACE_TOKEN,
    Day,
    Scanner,
    Time,
    TimeZone,
    parse_es5,
    read_milliseconds,
)

NAN = math.nan
MAX_TIME_MS = 8.64e15
_MS_PER_DAY = 86_400_000

_WS_CLASS = "".join(f"\\u{ord(c):04x}" for c in WHITESPACE)
# dayjs C.REGEX_PARSE, with JS semantics: ASCII \d, JS \s, `$` = end of input.
DAYJS_PARSE = re.compile(
    r"([0-9]{4})[-/]?([0-9]{1,2})?[-/]?([0-9]{0,2})[Tt" + _WS_CLASS + r"]*([0-9]{1,2})?:?([0-9]{1,2})?:?"
    r"([0-9]{1,2})?[.:]?([0-9]+)?\Z"
)
# The ES5 ISO form V8 reads directly; used as a fast path for the common "...Z"/"+hh:mm" timestamps.
_ES5_FAST = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))\Z"
)
# The canonical form Segment libraries send ("2021-08-17T15:21:15.449Z"): the hot path.
_ISO_MS_Z = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3})[Zz]\Z")
_DAY_CACHE: dict[str, int | None] = {}
_HOUR_CACHE: dict[str, int] = {}  # "YYYY-MM-DDTHH" -> its first millisecond (valid dates, hours 0-23)
# "00".."59" -> milliseconds (as minutes, as seconds); "000".."999" -> the number
# ":MM:SS" -> its milliseconds; ".sssZ" (or ".sssz") -> the milliseconds: with the hour's
# "YYYY-MM-DDTHH" (13 characters), the three slices of the 24-character form, each checked by
# one lookup
_MINUTE_SECOND_MS = {f":{m:02d}:{s:02d}": m * 60_000 + s * 1000 for m in range(60) for s in range(60)}
_MILLIS_Z = {f".{i:03d}{z}": i for i in range(1000) for z in "Zz"}



# ---------------------------------------------------------------------------------------------------
# ECMAScript date arithmetic


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    mp = m + (-3 if m > 2 else 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def make_day(year: int, month: int, date: int) -> int:
    """ECMAScript MakeDay for integral arguments (month may overflow in either direction)."""
    year += month // 12
    month %= 12
    return _days_from_civil(year, month + 1, 1) + date - 1


def time_clip(t: float) -> int | float:
    if t != t or t > MAX_TIME_MS or t < -MAX_TIME_MS:
        return NAN
    return int(t)


def js_date_utc(year: int, month: int, day: int = 1, hour: int = 0, minute: int = 0, second: int = 0,
                ms: int = 0) -> int | float:
    """``Date.UTC`` for integral arguments: years 0..99 mean 1900..1999; other fields overflow."""
    if 0 <= year <= 99:
        year += 1900
    t = make_day(year, month, day) * _MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms
    return time_clip(t)



def _v8_parse(s: str) -> tuple[int, int, int, int, int, int, int, int | None] | None:
    sc = Scanner(s)
    tz = TimeZone()
    time = Time()
    day = Day()
    token = parse_es5(sc, day, time, tz)
    if token.tag == INVALID_TOK:
        return None
    has_read_number = not day.is_empty()
    while token.tag != EOI:
        tag = token.tag
        if tag == NUMBER:
            has_read_number = True
            n = token.value
            if sc.skip_symbol(":"):
                if sc.skip_symbol(":"):
                    if not time.is_empty():
                        return None
                    time.add(n)
                    time.add(0)
                else:
                    if not time.add(n):
                        return None
                    if sc.next.is_symbol("."):
                        sc.get()
            elif sc.skip_symbol(".") and time.is_expecting(n):  # the "." is consumed either way
                time.add(n)
                if not sc.next.is_number():
                    return None
                ms = read_milliseconds(sc.get())
                if ms < 0:
                    return None
                time.add_final(ms)
            elif tz.is_expecting(n):
                tz.minute = n
            elif time.is_expecting(n):
                time.add_final(n)
                peek = sc.next
                if not (peek.tag == EOI or peek.tag == WHITESPACE_TOKEN or peek.is_keyword_z() or peek.is_sign()):
                    return None
            else:
                if not day.add(n):
                    return None
                sc.skip_symbol("-")
        elif tag >= 0:  # keyword
            value = token.value
            if tag == AM_PM and not time.is_empty():
                time.hour_offset = value
            elif tag == MONTH_NAME:
                day.named_month = value
                sc.skip_symbol("-")
            elif tag == TIME_ZONE_NAME and has_read_number:
                tz.set(value)
            else:
                if has_read_number:
                    return None
                if sc.next.is_number():
                    return None
        elif token.is_sign() and (tz.is_utc() or not time.is_empty()):
            tz.sign = -1 if token.sign() < 0 else 1
            n = 0
            length = 0
            if sc.next.is_number():
                t = sc.get()
                length = t.length
                n = t.value
            has_read_number = True
            if sc.next.is_symbol(":"):
                tz.hour = n
                tz.minute = K_NONE
            elif length == 2 or length == 1:
                tz.hour = n
                tz.minute = 0
            elif length == 4 or length == 3:
                tz.hour = n // 100
                tz.minute = n % 100
            else:
                return None
        elif (token.is_sign() or token.is_symbol(")")) and has_read_number:
            return None
        token = sc.get()
    d = day.write()
    if d is None:
        return None
    hms = time.write()
    if hms is None:
        return None
    ok, offset = tz.write()
    if not ok:
        return None
    return d[0], d[1], d[2], hms[0], hms[1], hms[2], hms[3], offset


_last_read: tuple[str, int | float | None] = ("", None)


def iso_ms_z(s: str) -> int | float | None:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` read the way V8 reads it; None when ``s`` is not of that form.
    The last string read is remembered (by identity): validation reads an event's ``time``, then
    the action converts the same string."""
    global _last_read
    last = _last_read
    if s is last[0]:
        return last[1]
    v = _read_iso_ms_z(s)
    _last_read = (s, v)
    return v


def _read_iso_ms_z(s: str) -> int | float | None:
    hour_ms = _HOUR_CACHE.get(s[:13])  # "YYYY-MM-DDTHH" of a valid date and an hour 0-23
    if hour_ms is not None:
        minute_second, milli = _MINUTE_SECOND_MS.get(s[13:19]), _MILLIS_Z.get(s[19:])
        if minute_second is not None and milli is not None:  # else: the exact path decides
            return hour_ms + minute_second + milli  # a 4-digit year: within the time value range
    m = _ISO_MS_Z.match(s)
    if m is None:
        return None
    date, hh, mm, ss, ms = m.groups()
    day = _DAY_CACHE.get(date, -1)
    if day == -1:
        mo, d = int(date[5:7]), int(date[8:10])
        day = make_day(int(date[:4]), mo - 1, d) if 1 <= mo <= 12 and 1 <= d <= 31 else None
        if len(_DAY_CACHE) > 4096:
            _DAY_CACHE.clear()
        _DAY_CACHE[date] = day
    if day is None:
        return NAN
    h, mi, sec, milli = int(hh), int(mm), int(ss), int(ms)
    if h <= 23:
        if len(_HOUR_CACHE) > 4096:
            _HOUR_CACHE.clear()
        _HOUR_CACHE[s[:13]] = day * _MS_PER_DAY + h * 3_600_000
    if mi > 59 or sec > 59:
        return NAN
    if h > 23 and (h > 24 or mi or sec or milli):
        return NAN
    return time_clip(day * _MS_PER_DAY + ((h * 60 + mi) * 60 + sec) * 1000 + milli)


def parse_js_date_string(s: str) -> int | float:
    """``new Date(s).getTime()`` in Node 20 with ``TZ=UTC``; NaN when V8 cannot parse ``s``."""
    v = iso_ms_z(s)
    if v is not None:
        return v
    m = _ES5_FAST.match(s)
    if m is not None:
        return _es5_fast(m)
    parts = _v8_parse(s)
    if parts is None:
        return NAN
    year, month, day, hour, minute, second, ms, offset = parts
    if not -1_000_000 <= year <= 1_000_000:
        return NAN
    t = make_day(year, month, day) * _MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms
    if offset is not None:
        t -= offset * 1000
    return time_clip(t)


def _es5_fast(m: re.Match[str]) -> int | float:
    year, month, day, hour, minute, sec, frac, z, sign, tzh, tzm = m.groups()
    mo, d, h, mi = int(month), int(day), int(hour), int(minute)
    s = int(sec) if sec else 0
    ms = int(frac[:3].ljust(3, "0")) if frac else 0
    if not (1 <= mo <= 12 and 1 <= d <= 31 and 0 <= mi <= 59 and 0 <= s <= 59):
        return NAN
    if h > 24 or (h == 24 and (mi or s or (frac and int(frac[:9])))):
        return NAN
    t = make_day(int(year), mo - 1, d) * _MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000 + ms
    if not z:
        oh, om = int(tzh), int(tzm)
        if oh > 23 or om > 59:
            return NAN
        off = (oh * 60 + om) * 60_000
        t = t - off if sign == "+" else t + off
    return time_clip(t)
