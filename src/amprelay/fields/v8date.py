"""V8's DateParser (src/date/dateparser*.{h,cc}), ported token for token: the scanner, the tokens
and the ES5 / legacy date grammar."""

from __future__ import annotations

from amprelay.js import WHITESPACE, utf16_len

# ---------------------------------------------------------------------------------------------------
# V8's DateParser (src/date/dateparser*.{h,cc}), ported token for token.

K_NONE = 2**31 - 1
_SMI_MAX = 2**31 - 1
# token tags
INVALID_TOK, _UNKNOWN, WHITESPACE_TOKEN, NUMBER, _SYMBOL, EOI = -6, -5, -4, -3, -2, -1
# keyword types (tags >= 0)
_KW_INVALID, MONTH_NAME, TIME_ZONE_NAME, _TIME_SEPARATOR, AM_PM = 0, 1, 2, 3, 4

_KEYWORDS: tuple[tuple[str, int, int], ...] = (
    ("jan", MONTH_NAME, 1), ("feb", MONTH_NAME, 2), ("mar", MONTH_NAME, 3), ("apr", MONTH_NAME, 4),
    ("may", MONTH_NAME, 5), ("jun", MONTH_NAME, 6), ("jul", MONTH_NAME, 7), ("aug", MONTH_NAME, 8),
    ("sep", MONTH_NAME, 9), ("oct", MONTH_NAME, 10), ("nov", MONTH_NAME, 11), ("dec", MONTH_NAME, 12),
    ("am\0", AM_PM, 0), ("pm\0", AM_PM, 12),
    ("ut\0", TIME_ZONE_NAME, 0), ("utc", TIME_ZONE_NAME, 0), ("z\0\0", TIME_ZONE_NAME, 0),
    ("gmt", TIME_ZONE_NAME, 0), ("cdt", TIME_ZONE_NAME, -5), ("cst", TIME_ZONE_NAME, -6),
    ("edt", TIME_ZONE_NAME, -4), ("est", TIME_ZONE_NAME, -5), ("mdt", TIME_ZONE_NAME, -6),
    ("mst", TIME_ZONE_NAME, -7), ("pdt", TIME_ZONE_NAME, -7), ("pst", TIME_ZONE_NAME, -8),
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
        return self.tag == NUMBER

    def is_fixed(self, n: int) -> bool:
        return self.tag == NUMBER and self.length == n

    def is_symbol(self, c: str) -> bool:
        return self.tag == _SYMBOL and self.value == ord(c)

    def is_sign(self) -> bool:
        return self.tag == _SYMBOL and (self.value == 45 or self.value == 43)

    def sign(self) -> int:
        return 44 - self.value

    def is_keyword_z(self) -> bool:
        return self.tag == TIME_ZONE_NAME and self.length == 1 and self.value == 0


_EOI_TOKEN = _Token(EOI, 0, -1)
_INVALID_TOKEN = _Token(INVALID_TOK, 0, -1)


class Scanner:
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
            return _Token(NUMBER, pos - start, int(digits.lstrip("0")[:9] or 0))
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
            length = utf16_len(word)
            if kw is not None and (length <= 3 or kw[0] == MONTH_NAME):
                return _Token(kw[0], length, kw[1])
            return _Token(_KW_INVALID, length, 0)
        if ch in _WS:
            self.pos = pos + 1
            return _Token(WHITESPACE_TOKEN, 1, -1)
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


class TimeZone:
    __slots__ = ("sign", "hour", "minute")

    def __init__(self) -> None:
        self.sign = self.hour = self.minute = K_NONE

    def set(self, offset_in_hours: int) -> None:
        self.sign = -1 if offset_in_hours < 0 else 1
        self.hour = offset_in_hours * self.sign
        self.minute = 0

    def is_expecting(self, n: int) -> bool:
        return self.hour != K_NONE and self.minute == K_NONE and _is_minute(n)

    def is_utc(self) -> bool:
        return self.hour == 0 and self.minute == 0

    def write(self) -> tuple[bool, int | None]:
        if self.sign != K_NONE:
            hour = 0 if self.hour == K_NONE else self.hour
            minute = 0 if self.minute == K_NONE else self.minute
            total = (hour * 3600 + minute * 60) & 0xFFFFFFFF
            if total > _SMI_MAX:
                return False, None
            return True, -total if self.sign < 0 else total
        return True, None


class Time:
    __slots__ = ("comp", "index", "hour_offset")

    def __init__(self) -> None:
        self.comp = [0, 0, 0, 0]
        self.index = 0
        self.hour_offset = K_NONE

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
        if self.hour_offset != K_NONE:
            if not 0 <= hour <= 12:
                return None
            hour = hour % 12 + self.hour_offset
        if not (_is_hour(hour) and _is_minute(minute) and 0 <= second <= 59 and 0 <= ms <= 999):
            if hour != 24 or minute != 0 or second != 0 or ms != 0:
                return None
        return hour, minute, second, ms


class Day:
    __slots__ = ("comp", "index", "named_month", "is_iso_date")

    def __init__(self) -> None:
        self.comp = [0, 0, 0]
        self.index = 0
        self.named_month = K_NONE
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
        if self.named_month == K_NONE:
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


def read_milliseconds(tok: _Token) -> int:
    number, length = tok.value, tok.length
    if length == 1:
        return number * 100
    if length == 2:
        return number * 10
    if length > 3:
        length = min(length, 9)
        return number // 10 ** (length - 3)
    return number


def parse_es5(sc: Scanner, day: Day, time: Time, tz: TimeZone) -> _Token:
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
        if sc.next.tag != EOI:
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
                time.add(read_milliseconds(sc.get()))
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
        if sc.next.tag != EOI:
            return _INVALID_TOKEN
    if tz.hour == K_NONE and time.is_empty():
        tz.set(0)
    day.is_iso_date = True
    return _EOI_TOKEN
