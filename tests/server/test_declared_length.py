"""What an ingest request weighs while in flight (the mappers beside ingest processes wait while
ingest holds a batch's worth): its Content-Length, capped, never trusted beyond that."""

from __future__ import annotations

from amprelay.server.app import declared_length


def scope(*headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "headers": list(headers)}


def test_the_declared_length_is_the_weight():
    assert declared_length(scope((b"content-length", b"1234")), 500_000) == 1234


def test_a_hostile_length_weighs_at_most_the_cap_and_nonsense_nothing():
    assert declared_length(scope((b"content-length", b"99999999999999999999")), 500_000) == 500_000
    assert declared_length(scope((b"content-length", b"-5")), 500_000) == 0
    assert declared_length(scope((b"content-length", b"12x")), 500_000) == 0
    assert declared_length(scope((b"transfer-encoding", b"chunked")), 500_000) == 0
