"""dayjs / V8 date emulation: BEHAVIORS.md item 7 plus the recorded reference answers in data/dates.jsonl."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from amprelay.fields import dayjs_is_valid, dayjs_utc_value, is_date_like, jsdate
from amprelay.fields.dates import js_date_utc, make_day, parse_js_date_string

from .helpers import DATA


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1683000000, 1683000000),
        (1683000000000.9, 1683000000000),
        (-1, -1),
        (-1.9, -1),
        ("1683000000000", -9059558400000),
        ("0", 946684800000),
        ("2023", 1672531200000),
        ("20230501", 1682899200000),
        (" 123", -58285699200000),
        ("2023-05-01", 1682899200000),
        ("2023-05-01 12:34:56", 1682944496000),
        ("2023-05-01T12:34:56+0530", 1682924696000),
        ("2023-05-01T12:34:56+05:30", 1682924696000),
        ("Mon, 01 May 2023 12:00:00 GMT", 1682942400000),
        ("Mon, 01 May 2023 12:00:00 +0200", 1682935200000),
        ("2021-08-17T15:21:15.449Z", 1629213675449),
        ("2023-05-01T12:00:00.1Z", 1682942400100),
        ("2023-05-01T12:00:00.123456Z", 1682942400123),
        ("2023-05-01T12:00:00.5", 1682942400005),  # dayjs regex: ms "5" is 5 ms, not 500
        ("2023-13-45T99:99:99", 1708231239000),  # dayjs regex path overflows like Date.UTC
        ("0099-01-01", 915148800000),  # Date.UTC maps years 0..99 to 1900..1999
        ("12/31/2023", 1703980800000),
        ("Jan 5", 978652800000),  # V8 legacy parser: missing year is 2001
        ("2023-01-01T24:00:00Z", 1672617600000),
        (8.64e15, 8640000000000000),
    ],
)
def test_dayjs_utc_value(given: object, expected: int) -> None:
    assert dayjs_utc_value(given) == expected
    assert dayjs_is_valid(given)


@pytest.mark.parametrize(
    "given",
    ["not-a-date", "2023-13-45T99:99:99Z", "abc", "true", "", "2023-01-01T24:00:01Z", None, 8.64e15 + 1,
     float("nan"), float("inf"), {}, "2023-02-30T10:00:00+24:00"],
)
def test_invalid_dates(given: object) -> None:
    assert math.isnan(dayjs_utc_value(given))
    assert not dayjs_is_valid(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("1683000000000", True), ("0", True), ("-5", True), ("0.5", True), ("NaN", False), ("Infinity", False),
     ("1e+21", False), ("8640000000000", True), ("8640000000001", False), ("2023", True), ("abc", False),
     ("2023-13-45T99:99:99Z", False), ("true", False), ("Mon, 01 May 2023 12:00:00 GMT", True)],
)
def test_is_date_like(given: str, expected: bool) -> None:
    assert is_date_like(given) is expected


def test_date_arithmetic() -> None:
    assert make_day(1970, 0, 1) == 0
    assert make_day(2024, 1, 29) == make_day(2024, 2, 0)
    assert make_day(-1, 0, 1) == -719893
    assert js_date_utc(2023, -1, 1) == js_date_utc(2022, 11, 1)
    assert math.isnan(js_date_utc(275760, 8, 14))


def test_recorded_reference_answers() -> None:
    mismatches = []
    count = 0
    for line in (DATA / "dates.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        s = case["s"]
        value = dayjs_utc_value(s)
        v8 = parse_js_date_string(s)
        got = {
            "value": None if value != value else value,
            "dateLike": is_date_like(s),
            "v8": None if v8 != v8 else v8,
        }
        want = {k: case[k] for k in got}
        if got != want:
            mismatches.append((s, got, want))
        count += 1
    assert count > 2000
    assert mismatches == []


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[Zz]\Z")
       | st.from_regex(r"\A2023-11-22T1[0-9][:x][0-9x]{2}:[0-9]{2}[.x][0-9]{3}[Zz ]?\Z"))
@example("2023-11-22T12:60:00.000Z")
@example("2023-11-22T12:59:60.000Z")
@example("2023-02-31T23:59:59.999Z")
@example("2023-11-22T24:00:00.000Z")
def test_the_hour_cache_reads_iso_strings_as_the_exact_path(s: str) -> None:
    jsdate._HOUR_CACHE.clear()
    exact = jsdate.iso_ms_z(s)  # fills the cache for its hour when the date is valid
    jsdate.iso_ms_z(s[:13] + ":00:00.000Z")
    cached = jsdate.iso_ms_z(s)
    assert repr(cached) == repr(exact)
