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

import math
import re

from amprelay.js import WHITESPACE, number_to_string, string_to_number

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

NAN = math.nan
MAX_TIME_MS = 8.64e15
_MS_PER_DAY = 86_400_000

_WS_CLASS = "".join(f"\\u{ord(c):04x}" for c in WHITESPACE)
# dayjs C.REGEX_PARSE, with JS semantics: ASCII \d, JS \s, `$` = end of input.
_DAYJS_PARSE = re.compile(
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
_MINUTE_MS = {f"{i:02d}": i * 60_000 for i in range(60)}
_SECOND_MS = {f"{i:02d}": i * 1000 for i in range(60)}
_DIGITS3 = {f"{i:03d}": i for i in range(1000)}
# ... and the same form with every part in range: certainly a valid date (a single regex match).
_ISO_MS_Z_VALID = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"\.[0-9]{3}[Zz]\Z"
)


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


def _time_clip(t: float) -> int | float:
    if t != t or t > MAX_TIME_MS or t < -MAX_TIME_MS:
        return NAN
    return int(t)


def js_date_utc(year: int, month: int, day: int = 1, hour: int = 0, minute: int = 0, second: int = 0,
                ms: int = 0) -> int | float:
    """``Date.UTC`` for integral arguments: years 0..99 mean 1900..1999; other fields overflow."""
    if 0 <= year <= 99:
        year += 1900
    t = make_day(year, month, day) * _MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms
    return _time_clip(t)


# ---------------------------------------------------------------------------------------------------
# V8's DateParser (src/date/dateparser*.{h,cc}), ported token for token.

_K_NONE = 2**31 - 1
_SMI_MAX = 2**31 - 1
# token tags
_INVALID_TOK, _UNKNOWN, _WHITESPACE, _NUMBER, _SYMBOL, _EOI = -6, -5, -4, -3, -2, -1
# keyword types (tags >= 0)
_KW_INVALID, _MONTH_NAME, _TIME_ZONE_NAME, _TIME_SEPARATOR, _AM_PM = 0, 1, 2, 3, 4

_KEYWORDS: tuple[tuple[str, int, int], ...] = (
    ("jan", _MONTH_NAME, 1), ("feb", _MONTH_NAME, 2), ("mar", _MONTH_NAME, 3), ("apr", _MONTH_NAME, 4),
    ("may", _MONTH_NAME, 5), ("jun", _MONTH_NAME, 6), ("jul", _MONTH_NAME, 7), ("aug", _MONTH_NAME, 8),
    ("sep", _MONTH_NAME, 9), ("oct", _MONTH_NAME, 10), ("nov", _MONTH_NAME, 11), ("dec", _MONTH_NAME, 12),
    ("am\0", _AM_PM, 0), ("pm\0", _AM_PM, 12),
    ("ut\0", _TIME_ZONE_NAME, 0), ("utc", _TIME_ZONE_NAME, 0), ("z\0\0", _TIME_ZONE_NAME, 0),
    ("gmt", _TIME_ZONE_NAME, 0), ("cdt", _TIME_ZONE_NAME, -5), ("cst", _TIME_ZONE_NAME, -6),
    ("edt", _TIME_ZONE_NAME, -4), ("est", _TIME_ZONE_NAME, -5), ("mdt", _TIME_ZONE_NAME, -6),
    ("mst", _TIME_ZONE_NAME, -7), ("pdt", _TIME_ZONE_NAME, -7), ("pst", _TIME_ZONE_NAME, -8),
    ("t\0\0", _TIME_SEPARATOR, 0),
)
_KEYWORD_MAP = {k: (t, v) for k, t, v in reversed(_KEYWORDS)}
_WS = frozenset(WHITESPACE)


class _Token:
    __slots__ = ("tag", "length", "value")

    def __init__(self, tag: int, length: int, value: int) -> None:
        self.tag = tag
        self.length = length
        self.value = value

    def is_number(self) -> bool:
        return self.tag == _NUMBER

    def is_fixed(self, n: int) -> bool:
        return self.tag == _NUMBER and self.length == n

    def is_symbol(self, c: str) -> bool:
        return self.tag == _SYMBOL and self.value == ord(c)

    def is_sign(self) -> bool:
        return self.tag == _SYMBOL and (self.value == 45 or self.value == 43)

    def sign(self) -> int:
        return 44 - self.value

    def is_keyword_z(self) -> bool:
        return self.tag == _TIME_ZONE_NAME and self.length == 1 and self.value == 0


_EOI_TOKEN = _Token(_EOI, 0, -1)
_INVALID_TOKEN = _Token(_INVALID_TOK, 0, -1)


def _utf16_len(s: str) -> int:
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


class _Scanner:
    __slots__ = ("s", "pos", "end", "next")

    def __init__(self, s: str) -> None:
        nul = s.find("\0")
        self.s = s
        self.pos = 0
        self.end = len(s) if nul < 0 else nul
        self.next = self._scan()

    def _scan(self) -> _Token:
        s, pos, end = self.s, self.pos, self.end
        if pos >= end:
            return _EOI_TOKEN
        ch = s[pos]
        if "0" <= ch <= "9":
            start = pos
            while pos < end and "0" <= s[pos] <= "9":
                pos += 1
            self.pos = pos
            digits = s[start:pos]
            # V8 keeps the first 9 significant digits (leading zeros do not count)
            return _Token(_NUMBER, pos - start, int(digits.lstrip("0")[:9] or 0))
        if ch in ":-+.)":
            self.pos = pos + 1
            return _Token(_SYMBOL, 1, ord(ch))
        if ch >= "A" and ch not in _WS:
            start = pos
            while pos < end and s[pos] >= "A" and s[pos] not in _WS:
                pos += 1
            self.pos = pos
            word = s[start:pos]
            prefix = "".join(chr(ord(c) | 0x20) for c in word[:3]).ljust(3, "\0")
            kw = _KEYWORD_MAP.get(prefix)
            length = _utf16_len(word)
            if kw is not None and (length <= 3 or kw[0] == _MONTH_NAME):
                return _Token(kw[0], length, kw[1])
            return _Token(_KW_INVALID, length, 0)
        if ch in _WS:
            self.pos = pos + 1
            return _Token(_WHITESPACE, 1, -1)
        if ch == "(":
            balance = 0
            while True:
                c = s[pos] if pos < end else "\0"
                if c == ")":
                    balance -= 1
                elif c == "(":
                    balance += 1
                pos += 1
                if not (balance > 0 and pos < end):
                    break
            self.pos = pos
            return _Token(_UNKNOWN, 1, -1)
        self.pos = pos + 1
        return _Token(_UNKNOWN, 1, -1)

    def get(self) -> _Token:
        result = self.next
        self.next = self._scan()
        return result

    def skip_symbol(self, c: str) -> bool:
        if self.next.is_symbol(c):
            self.next = self._scan()
            return True
        return False


def _is_minute(x: int) -> bool:
    return 0 <= x <= 59


def _is_hour(x: int) -> bool:
    return 0 <= x <= 23


def _is_month(x: int) -> bool:
    return 1 <= x <= 12


def _is_day(x: int) -> bool:
    return 1 <= x <= 31


class _TimeZone:
    __slots__ = ("sign", "hour", "minute")

    def __init__(self) -> None:
        self.sign = self.hour = self.minute = _K_NONE

    def set(self, offset_in_hours: int) -> None:
        self.sign = -1 if offset_in_hours < 0 else 1
        self.hour = offset_in_hours * self.sign
        self.minute = 0

    def is_expecting(self, n: int) -> bool:
        return self.hour != _K_NONE and self.minute == _K_NONE and _is_minute(n)

    def is_utc(self) -> bool:
        return self.hour == 0 and self.minute == 0

    def write(self) -> tuple[bool, int | None]:
        if self.sign != _K_NONE:
            hour = 0 if self.hour == _K_NONE else self.hour
            minute = 0 if self.minute == _K_NONE else self.minute
            total = (hour * 3600 + minute * 60) & 0xFFFFFFFF
            if total > _SMI_MAX:
                return False, None
            return True, -total if self.sign < 0 else total
        return True, None


class _Time:
    __slots__ = ("comp", "index", "hour_offset")

    def __init__(self) -> None:
        self.comp = [0, 0, 0, 0]
        self.index = 0
        self.hour_offset = _K_NONE

    def is_empty(self) -> bool:
        return self.index == 0

    def is_expecting(self, n: int) -> bool:
        i = self.index
        return (i == 1 and _is_minute(n)) or (i == 2 and 0 <= n <= 59) or (i == 3 and 0 <= n <= 999)

    def add(self, n: int) -> bool:
        if self.index < 4:
            self.comp[self.index] = n
            self.index += 1
            return True
        return False

    def add_final(self, n: int) -> bool:
        if not self.add(n):
            return False
        while self.index < 4:
            self.comp[self.index] = 0
            self.index += 1
        return True

    def write(self) -> tuple[int, int, int, int] | None:
        while self.index < 4:
            self.comp[self.index] = 0
            self.index += 1
        hour, minute, second, ms = self.comp
        if self.hour_offset != _K_NONE:
            if not 0 <= hour <= 12:
                return None
            hour = hour % 12 + self.hour_offset
        if not (_is_hour(hour) and _is_minute(minute) and 0 <= second <= 59 and 0 <= ms <= 999):
            if hour != 24 or minute != 0 or second != 0 or ms != 0:
                return None
        return hour, minute, second, ms


class _Day:
    __slots__ = ("comp", "index", "named_month", "is_iso_date")

    def __init__(self) -> None:
        self.comp = [0, 0, 0]
        self.index = 0
        self.named_month = _K_NONE
        self.is_iso_date = False

    def is_empty(self) -> bool:
        return self.index == 0

    def add(self, n: int) -> bool:
        if self.index < 3:
            self.comp[self.index] = n
            self.index += 1
            return True
        return False

    def write(self) -> tuple[int, int, int] | None:
        if self.index < 1:
            return None
        while self.index < 3:
            self.comp[self.index] = 1
            self.index += 1
        comp = self.comp
        year = 0
        if self.named_month == _K_NONE:
            if self.is_iso_date or (self.index == 3 and not _is_day(comp[0])):
                year, month, day = comp
            else:
                month, day = comp[0], comp[1]
                if self.index == 3:
                    year = comp[2]
        else:
            month = self.named_month
            if self.index == 1:
                day = comp[0]
            elif not _is_day(comp[0]):
                year, day = comp[0], comp[1]
            else:
                day, year = comp[0], comp[1]
        if not self.is_iso_date:
            if 0 <= year <= 49:
                year += 2000
            elif 50 <= year <= 99:
                year += 1900
        if not (_is_month(month) and _is_day(day)):
            return None
        return year, month - 1, day


def _read_milliseconds(tok: _Token) -> int:
    number, length = tok.value, tok.length
    if length == 1:
        return number * 100
    if length == 2:
        return number * 10
    if length > 3:
        length = min(length, 9)
        return number // 10 ** (length - 3)
    return number


def _parse_es5(sc: _Scanner, day: _Day, time: _Time, tz: _TimeZone) -> _Token:
    if sc.next.is_sign():
        sign_token = sc.get()
        if not sc.next.is_fixed(6):
            return sign_token
        sign = sign_token.sign()
        year = sc.get().value
        if sign < 0 and year == 0:
            return sign_token
        day.add(sign * year)
    elif sc.next.is_fixed(4):
        day.add(sc.get().value)
    else:
        return sc.get()
    if sc.skip_symbol("-"):
        if not sc.next.is_fixed(2) or not _is_month(sc.next.value):
            return sc.get()
        day.add(sc.get().value)
        if sc.skip_symbol("-"):
            if not sc.next.is_fixed(2) or not _is_day(sc.next.value):
                return sc.get()
            day.add(sc.get().value)
    if sc.next.tag != _TIME_SEPARATOR:
        if sc.next.tag != _EOI:
            return sc.get()
    else:
        sc.get()
        if not sc.next.is_fixed(2) or not 0 <= sc.next.value <= 24:
            return _INVALID_TOKEN
        hour_is_24 = sc.next.value == 24
        time.add(sc.get().value)
        if not sc.skip_symbol(":"):
            return _INVALID_TOKEN
        if not sc.next.is_fixed(2) or not _is_minute(sc.next.value) or (hour_is_24 and sc.next.value > 0):
            return _INVALID_TOKEN
        time.add(sc.get().value)
        if sc.skip_symbol(":"):
            if not sc.next.is_fixed(2) or not 0 <= sc.next.value <= 59 or (hour_is_24 and sc.next.value > 0):
                return _INVALID_TOKEN
            time.add(sc.get().value)
            if sc.skip_symbol("."):
                if not sc.next.is_number() or (hour_is_24 and sc.next.value > 0):
                    return _INVALID_TOKEN
                time.add(_read_milliseconds(sc.get()))
        if sc.next.is_keyword_z():
            sc.get()
            tz.set(0)
        elif sc.next.is_symbol("+") or sc.next.is_symbol("-"):
            tz.sign = 1 if sc.get().value == 43 else -1
            if sc.next.is_fixed(4):
                hourmin = sc.get().value
                hour, minute = hourmin // 100, hourmin % 100
                if not _is_hour(hour) or not _is_minute(minute):
                    return _INVALID_TOKEN
                tz.hour, tz.minute = hour, minute
            else:
                if not sc.next.is_fixed(2) or not _is_hour(sc.next.value):
                    return _INVALID_TOKEN
                tz.hour = sc.get().value
                if not sc.skip_symbol(":"):
                    return _INVALID_TOKEN
                if not sc.next.is_fixed(2) or not _is_minute(sc.next.value):
                    return _INVALID_TOKEN
                tz.minute = sc.get().value
        if sc.next.tag != _EOI:
            return _INVALID_TOKEN
    if tz.hour == _K_NONE and time.is_empty():
        tz.set(0)
    day.is_iso_date = True
    return _EOI_TOKEN


def _v8_parse(s: str) -> tuple[int, int, int, int, int, int, int, int | None] | None:
    sc = _Scanner(s)
    tz = _TimeZone()
    time = _Time()
    day = _Day()
    token = _parse_es5(sc, day, time, tz)
    if token.tag == _INVALID_TOK:
        return None
    has_read_number = not day.is_empty()
    while token.tag != _EOI:
        tag = token.tag
        if tag == _NUMBER:
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
                ms = _read_milliseconds(sc.get())
                if ms < 0:
                    return None
                time.add_final(ms)
            elif tz.is_expecting(n):
                tz.minute = n
            elif time.is_expecting(n):
                time.add_final(n)
                peek = sc.next
                if not (peek.tag == _EOI or peek.tag == _WHITESPACE or peek.is_keyword_z() or peek.is_sign()):
                    return None
            else:
                if not day.add(n):
                    return None
                sc.skip_symbol("-")
        elif tag >= 0:  # keyword
            value = token.value
            if tag == _AM_PM and not time.is_empty():
                time.hour_offset = value
            elif tag == _MONTH_NAME:
                day.named_month = value
                sc.skip_symbol("-")
            elif tag == _TIME_ZONE_NAME and has_read_number:
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
                tz.minute = _K_NONE
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
    t = time.write()
    if t is None:
        return None
    ok, offset = tz.write()
    if not ok:
        return None
    return d[0], d[1], d[2], t[0], t[1], t[2], t[3], offset


def _iso_ms_z(s: str) -> int | float | None:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` read the way V8 reads it; None when ``s`` is not of that form."""
    hour_ms = _HOUR_CACHE.get(s[:13])  # "YYYY-MM-DDTHH" of a valid date and an hour 0-23
    if hour_ms is not None and len(s) == 24 and s[13] == ":" and s[16] == ":" and s[19] == "." and s[23] in "Zz":
        mi, sec, milli = _MINUTE_MS.get(s[14:16]), _SECOND_MS.get(s[17:19]), _DIGITS3.get(s[20:23])
        if mi is not None and sec is not None and milli is not None:  # else: the exact path decides
            return hour_ms + mi + sec + milli  # a 4-digit year: within the time value range
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
    return _time_clip(day * _MS_PER_DAY + ((h * 60 + mi) * 60 + sec) * 1000 + milli)


def parse_js_date_string(s: str) -> int | float:
    """``new Date(s).getTime()`` in Node 20 with ``TZ=UTC``; NaN when V8 cannot parse ``s``."""
    v = _iso_ms_z(s)
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
    return _time_clip(t)


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
    return _time_clip(t)


# ---------------------------------------------------------------------------------------------------
# dayjs


def _dayjs_string(s: str) -> int | float:
    if not (s and s[-1] in "Zz"):
        d = _DAYJS_PARSE.match(s)
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
        v = _iso_ms_z(x)  # type: ignore[arg-type]
        if v is not None:
            return v
        return _dayjs_string(x)  # type: ignore[arg-type]
    if t is int:
        return _time_clip(x)  # type: ignore[arg-type]
    if t is float:
        return _time_clip(x)  # type: ignore[arg-type]
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
    if _ISO_MS_Z_VALID.match(data) is not None:
        return True
    v = _iso_ms_z(data)
    if v is not None:
        return v == v
    n = string_to_number(data)
    if number_to_string(n) == data:
        # dayjs.unix(Number(data))
        t = n * 1000
        return t == t and -MAX_TIME_MS <= t <= MAX_TIME_MS
    v = _dayjs_string(data)
    return v == v
