"""format_timestamp is JavaScript's toISOString; parse_timestamp is memoised without changing answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from amprelay.spec.timestamps import _parse_cached, format_timestamp, parse_timestamp


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
