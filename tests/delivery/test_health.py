"""Failure episodes (delivery/health.py) with a controlled clock: one warning past the threshold,
repeats at most once per interval, one recovery line per episode that warned."""

from __future__ import annotations

import logging

import orjson
import pytest

from amprelay.delivery.health import DestinationHealth, request_failed
from amprelay.delivery.responses import classify


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def health(caplog):
    caplog.set_level(logging.INFO, logger="amprelay.delivery.health")
    clock = Clock()
    changes: list[tuple[str, bool]] = []
    h = DestinationHealth(60, 60, clock=clock, on_change=lambda d, f: changes.append((d, f)))
    h.test_clock = clock  # type: ignore[attr-defined]
    h.test_changes = changes  # type: ignore[attr-defined]
    return h


def _lines(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "amprelay.delivery.health" and r.levelno == level]


def _fail(h: DestinationHealth, status: int | None = 503, dest: str = "amplitude") -> None:
    if status is None:
        h.observe(dest, classify(None, None, [b"{}"], "ConnectError: connection refused"))
    else:
        h.observe(dest, classify(status, orjson.dumps({"code": status, "error": "Service Unavailable"}), [b"{}"]))


def test_an_outage_warns_once_then_at_most_once_a_minute_and_recovers_with_one_line(health, caplog):
    clock = health.test_clock
    for _ in range(59):  # failing every second: no warning before 60 s
        _fail(health)
        clock.now += 1
    assert _lines(caplog, logging.WARNING) == []
    _fail(health)  # 59 s after the first failure
    clock.now += 1
    _fail(health)  # 60 s
    warnings = _lines(caplog, logging.WARNING)
    assert len(warnings) == 1
    msg = warnings[0].getMessage()
    assert "'amplitude'" in msg and "503" in msg and "Service Unavailable" in msg and "60s" in msg
    assert warnings[0].fields["status"] == 503
    assert warnings[0].fields["reason"] == "Service Unavailable"
    for _ in range(59):  # the next minute: failures and ticks, no repeat
        clock.now += 1
        _fail(health)
        health.tick()
    assert len(_lines(caplog, logging.WARNING)) == 1
    clock.now += 1
    health.tick()  # a minute after the first warning, with no new answer (backoff): the repeat
    warnings = _lines(caplog, logging.WARNING)
    assert len(warnings) == 2 and "still failing for 120s" in warnings[1].getMessage()
    assert health.test_changes == [("amplitude", True)]
    assert set(health.failing()) == {"amplitude"}

    health.observe("amplitude", classify(200, b'{"code":200}', [b"{}"]))
    health.observe("amplitude", classify(200, b'{"code":200}', [b"{}"]))
    infos = _lines(caplog, logging.INFO)
    assert len(infos) == 1 and "recovered after 120s" in infos[0].getMessage()
    assert health.test_changes == [("amplitude", True), ("amplitude", False)]
    assert health.failing() == {}


def test_a_short_failure_is_not_news(health, caplog):
    clock = health.test_clock
    _fail(health)
    clock.now += 30
    _fail(health, None)
    health.tick()
    health.succeeded("amplitude")
    clock.now += 100
    health.tick()
    assert _lines(caplog, logging.WARNING) == [] and _lines(caplog, logging.INFO) == []


def test_unreachable_is_reported_as_no_answer_and_destinations_are_separate(health, caplog):
    clock = health.test_clock
    _fail(health, None, "a")
    _fail(health, 503, "b")
    clock.now += 61
    health.tick()
    msgs = sorted(r.getMessage() for r in _lines(caplog, logging.WARNING))
    assert len(msgs) == 2
    assert "'a'" in msgs[0] and "no answer from Amplitude (ConnectError: connection refused)" in msgs[0]
    assert "'b'" in msgs[1] and "Amplitude answered 503" in msgs[1]
    health.succeeded("a")
    assert set(health.failing()) == {"b"}


@pytest.mark.parametrize(("status", "body", "entries", "expected"), [
    (200, b'{"code":200}', 1, False),
    (503, b"", 2, True),
    (408, b"", 1, True),
    (400, b'{"code":400,"error":"Invalid API key: x"}', 2, True),  # held: the destination cannot deliver
    (429, b'{"code":429,"error":"Too many requests"}', 2, True),  # every entry throttled
    (413, b'{"code":413,"error":"Payload too large"}', 2, None),  # a split, not a failure
    (400, b'{"code":400,"error":"Invalid field values","events_with_invalid_fields":{"time":[0]}}', 2, None),
])
def test_which_answers_are_failures(status, body, entries, expected):
    assert request_failed(classify(status, body, [b"{}"] * entries)) is expected
