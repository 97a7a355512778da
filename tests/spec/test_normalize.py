from datetime import UTC, datetime

from amprelay.spec import normalize_message

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
