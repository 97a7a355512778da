"""format_timestamp is JavaScript's toISOString; parse_timestamp is memoised without changing answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from amprelay.spec.timestamps import (
    MAX_EPOCH_US,
    MIN_EPOCH_US,
    _parse_cached,
    epoch_us,
    format_epoch_us,
    format_timestamp,
    parse_timestamp,
    timestamp_us,
)


def strftime_reference(moment: datetime) -> str:
    """The earlier implementation (strftime), kept as the oracle."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30)),
       st.one_of(st.none(), st.just(UTC), offsets))
def test_format_equals_the_strftime_version(naive, tz):
    moment = naive if tz is None else naive.replace(tzinfo=tz)
    assert format_timestamp(moment) == strftime_reference(moment)


def test_format_examples():
    assert format_timestamp(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00.000Z"
    assert format_timestamp(datetime(2024, 1, 1, 12, 30, 5, 123999, tzinfo=timezone(timedelta(hours=2)))) == \
        "2024-01-01T10:30:05.123Z"
    assert format_timestamp(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00.000Z"  # padded, as JS pads


@given(st.text(max_size=40))
def test_memoised_parse_answers_like_a_fresh_one(text):
    first = parse_timestamp(text)
    assert parse_timestamp(text) == first
    assert _parse_cached.__wrapped__(text) == first


def test_parse_ignores_non_strings():
    assert parse_timestamp(12345) is None and parse_timestamp(None) is None


@given(st.datetimes(min_value=datetime.min, max_value=datetime.max), st.one_of(st.just(UTC), offsets))
def test_the_epoch_microseconds_format_as_the_datetime_does(naive, tz):
    moment = naive.replace(tzinfo=tz)
    try:
        expected = format_timestamp(moment)
    except OverflowError:  # within a day of datetime's range: no UTC moment to write
        return
    us = epoch_us(moment)
    assert MIN_EPOCH_US <= us <= MAX_EPOCH_US
    assert format_epoch_us(us) == expected


def test_epoch_microseconds_examples():
    assert format_epoch_us(0) == "1970-01-01T00:00:00.000Z"
    assert format_epoch_us(-1) == "1969-12-31T23:59:59.999Z"  # cut toward the earlier millisecond
    assert format_epoch_us(MIN_EPOCH_US) == "0001-01-01T00:00:00.000Z"
    assert format_epoch_us(MAX_EPOCH_US) == "9999-12-31T23:59:59.999Z"
    assert timestamp_us("2024-01-01T00:00:00.001+01:00") == epoch_us(datetime(2023, 12, 31, 23, 0, 0, 1000, UTC))
    assert timestamp_us("not a time") is None and timestamp_us(5) is None
