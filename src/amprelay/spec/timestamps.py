"""ISO-8601 timestamps as Segment messages carry them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

__all__ = ["epoch_us", "format_epoch_us", "format_timestamp", "parse_timestamp", "timestamp_us"]

_ISO_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?"
    r"(?P<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?)?\Z"
)


def parse_timestamp(text: str) -> datetime | None:
    """An aware datetime for an ISO-8601 date or date-time (no zone means UTC); None if invalid.

    Accepts `T` or a space between date and time, any number of fraction digits (microseconds are
    kept), and `Z`, `+HH`, `+HHMM` or `+HH:MM` zones. Memoised: ingest validates a message's
    timestamps, then normalises them, and a batch's messages share one ``sentAt``.
    """
    if not isinstance(text, str):
        return None
    return _parse_cached(text)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> datetime | None:
    # fast path: the common "2024-01-01T00:00:00.000Z" shape (validated by fromisoformat)
    if len(text) >= 20 and text[10] == "T" and text[-1] == "Z" and text[4] == "-":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    m = _ISO_RE.match(text.strip())
    if not m:
        return None
    try:
        year, month, day = (int(p) for p in m.group("date").split("-"))
        hour = int(m.group("h") or 0)
        minute = int(m.group("m") or 0)
        second = int(m.group("s") or 0)
        micro = int((m.group("frac") or "0")[:6].ljust(6, "0"))
        tz_text = m.group("tz")
        tz = UTC
        if tz_text and tz_text not in ("Z", "z"):
            sign = -1 if tz_text[0] == "-" else 1
            digits = tz_text[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            if offset >= timedelta(hours=24):
                return None
            tz = timezone(sign * offset)
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """`2024-01-01T00:00:00.000Z`: UTC, milliseconds, like JavaScript's toISOString()."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.utcoffset():
        moment = moment.astimezone(UTC)
    # isoformat is C and four-digit years are padded as toISOString pads them; the UTC offset
    # it writes ("+00:00") becomes "Z".
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


# -- the same moments as integers: ingest's clock-skew correction, without datetime arithmetic --

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: datetime's range, in µs from the epoch: what :func:`format_epoch_us` can write
MIN_EPOCH_US = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
MAX_EPOCH_US = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND


def epoch_us(moment: datetime) -> int:
    """``moment`` (aware) in microseconds since 1970-01-01T00:00:00Z."""
    return (moment - _EPOCH) // _MICROSECOND


def timestamp_us(text: Any) -> int | None:
    """:func:`parse_timestamp` of ``text`` in microseconds since the epoch (None if invalid)."""
    if not isinstance(text, str):
        return None
    return _us_cached(text)


@lru_cache(maxsize=4096)
def _us_cached(text: str) -> int | None:
    moment = _parse_cached(text)
    return None if moment is None else epoch_us(moment)


def format_epoch_us(us: int) -> str:
    """:func:`format_timestamp` of the moment ``us`` microseconds after the epoch: the second's
    text is memoised, the milliseconds are cut, not rounded, as ``isoformat(timespec=
    "milliseconds")`` cuts them. ``OverflowError`` outside datetime's range, as datetime raises."""
    if not MIN_EPOCH_US <= us <= MAX_EPOCH_US:
        raise OverflowError("date value out of range")
    seconds, micro = divmod(us, 1_000_000)
    return f"{_second_text(seconds)}.{micro // 1000:03d}Z"


@lru_cache(maxsize=1024)
def _second_text(seconds: int) -> str:
    return (_EPOCH + timedelta(seconds=seconds)).isoformat()[:19]
