from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from amprelay.spec import format_timestamp, normalize_message, parse_timestamp

RECEIVED = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_clock_skew_correction_from_sent_at():
    # the device clock is 10 minutes fast: it stamped 12:09:00 and sent at 12:10:00
    msg = {"type": "track", "event": "x", "userId": "u", "timestamp": "2024-01-01T12:09:00.000Z",
           "sentAt": "2024-01-01T12:10:00.000Z"}
    out = normalize_message(msg, RECEIVED)
    assert out["timestamp"] == "2024-01-01T11:59:00.000Z"
    assert out["originalTimestamp"] == "2024-01-01T12:09:00.000Z"
    assert out["receivedAt"] == "2024-01-01T12:00:00.000Z"


def test_no_sent_at_keeps_the_timestamp_and_no_timestamp_means_received_at():
    kept = normalize_message({"timestamp": "2023-05-01T00:00:00Z"}, RECEIVED)
    assert kept["timestamp"] == "2023-05-01T00:00:00Z"
    fresh = normalize_message({}, RECEIVED)
    assert fresh["timestamp"] == "2024-01-01T12:00:00.000Z"


def test_message_id_added_only_when_missing():
    assert normalize_message({"messageId": "m1"}, RECEIVED)["messageId"] == "m1"
    generated = normalize_message({}, RECEIVED)["messageId"]
    assert generated.startswith("amprelay-") and len(generated) > 20
    assert normalize_message({}, RECEIVED)["messageId"] != generated


# The shapes server libraries send, each with the UTC instant it means.
SERVER_LIBRARY_TIMESTAMPS = [
    ("2024-01-01T11:58:00.123456", "2024-01-01T11:58:00.123Z"),  # Python isoformat(), naive
    ("2024-01-01T11:58:00.123456+00:00", "2024-01-01T11:58:00.123Z"),  # Python, aware
    ("2024-01-01T13:58:00+02:00", "2024-01-01T11:58:00.000Z"),  # Python, no microseconds
    ("2024-01-01T11:58:00.123456789Z", "2024-01-01T11:58:00.123Z"),  # Go RFC 3339 nano
    ("2024-01-01T20:58:00.000+09:00", "2024-01-01T11:58:00.000Z"),  # Ruby iso8601(3)
    ("2024-01-01T11:58:00.000+0000", "2024-01-01T11:58:00.000Z"),  # Java SimpleDateFormat
]


@pytest.mark.parametrize(("sent", "instant"), SERVER_LIBRARY_TIMESTAMPS)
def test_clock_skew_is_corrected_for_every_iso_shape(sent, instant):
    # the client's clock is 1 minute behind: sentAt 11:59 (its clock) arrives at 12:00
    out = normalize_message({"timestamp": sent, "sentAt": "2024-01-01T11:59:00.000Z"}, RECEIVED)
    assert out["originalTimestamp"] == sent
    moment = parse_timestamp(instant)
    assert out["timestamp"] == format_timestamp(moment + timedelta(minutes=1))


@pytest.mark.parametrize("ts", [1704110280, 1704110280000, "1704110280", "1704110280000", "yesterday", 1.5, True])
def test_timestamps_that_do_not_parse_are_kept_as_sent_without_skew_correction(ts):
    out = normalize_message({"timestamp": ts, "sentAt": "2024-01-01T11:59:00.000Z"}, RECEIVED)
    assert out["timestamp"] == ts and out["originalTimestamp"] == ts
    assert out["receivedAt"] == "2024-01-01T12:00:00.000Z"


def datetime_skew_correction(received: datetime, sent: str, original: str) -> str:
    """The correction as datetime arithmetic computes it (what ingest did before it used µs)."""
    return format_timestamp(received - (parse_timestamp(sent) - parse_timestamp(original)))


iso_texts = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                         timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                                    timezone(timedelta(hours=-8))])).map(
    lambda d: d.isoformat())


@given(iso_texts, iso_texts, st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)))
@example("0001-01-02T00:00:00+00:00", "9999-12-30T00:00:00+00:00", datetime(2024, 1, 1))  # beyond datetime's range
def test_the_skew_correction_is_the_datetime_arithmetics(sent, original, received):
    received = received.replace(tzinfo=UTC)
    try:
        expected = datetime_skew_correction(received, sent, original)
    except OverflowError:
        with pytest.raises(OverflowError):
            normalize_message({"timestamp": original, "sentAt": sent}, received)
        return
    assert normalize_message({"timestamp": original, "sentAt": sent}, received)["timestamp"] == expected
    # sentAt handed over parsed (as a batch's shared one may be) gives the same
    assert normalize_message({"timestamp": original}, received, sent_at=parse_timestamp(sent))["timestamp"] == expected
