"""Delivery failures are visible (issue 13 item 8): a real relay over real sockets, the local
Amplitude failing (503) or unreachable for longer than a short configured threshold.

Backoff is capped at half a second here so a recovery is seen quickly; the warning threshold and
the readiness age are a fraction of a second. Counts come from the captured log records."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from amprelay.fakeamp import run_in_thread as run_fake
from amprelay.wiring import RelayService, ThreadedRelay
from tests.helpers.relay import WRITE_KEY, free_port, relay_config, wait_for

HEALTH_LOG = "amprelay.delivery.health"


@pytest.fixture
def relays() -> Iterator[list[ThreadedRelay]]:
    started: list[ThreadedRelay] = []
    yield started
    for r in started:
        r.stop()


ADMIN_TOKEN = "visible-failures-admin-token-0001"


def _start(relays: list[ThreadedRelay], data_dir, amplitude_url: str, repeat_seconds: float = 60.0) -> ThreadedRelay:
    cfg = relay_config(data_dir, amplitude_url, extra=f"console: {{admin_token: {ADMIN_TOKEN}}}")
    cfg.delivery.failure_warning_seconds = 0.5
    cfg.delivery.failure_repeat_seconds = repeat_seconds
    cfg.delivery.ready_max_undelivered_age_seconds = 1.0
    service = RelayService.build(cfg)
    service.delivery.settings.backoff_max_seconds = 0.5  # retry often: recovery is seen at once
    relay = ThreadedRelay(service).start()
    relays.append(relay)
    return relay


def _records(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == HEALTH_LOG and r.levelno == level]


def _track(relay: ThreadedRelay, name: str) -> None:
    r = httpx.post(relay.url + "/v1/track", json={"event": name, "userId": "user-visible-1"}, auth=(WRITE_KEY, ""))
    assert r.status_code == 200, r.text


def _ready(relay: ThreadedRelay) -> httpx.Response:
    return httpx.get(relay.url + "/ready")


def test_amplitude_answering_503_warns_once_makes_ready_503_and_recovers(tmp_path, fake, relays, caplog):
    caplog.set_level(logging.INFO, logger=HEALTH_LOG)
    fake.configure(fail_next=1_000_000, fail_status=503)
    relay = _start(relays, tmp_path / "data", fake.url)
    assert _ready(relay).status_code == 200
    _track(relay, "During Outage")

    wait_for(lambda: _records(caplog, logging.WARNING))
    not_ready = wait_for(lambda: (r := _ready(relay)).status_code == 503 and r)
    body = not_ready.json()
    assert body["ready"] is False
    assert "oldest_undelivered" in body["reason"] and "undelivered unit is" in body["reason"]
    assert body["checks"]["oldest_undelivered"]["ok"] is False
    failing = body["checks"]["destinations"]["failing"]["amplitude"]
    assert failing["status"] == 503 and failing["reason"] == "Service Unavailable"
    # keep failing for several more attempts: still exactly one warning (the repeat is a minute away)
    wait_for(lambda: _failing(relay).get("failed_requests", 0) >= failing["failed_requests"] + 4, timeout=20)
    warnings = _records(caplog, logging.WARNING)
    assert len(warnings) == 1, [w.getMessage() for w in warnings]
    msg = warnings[0].getMessage()
    assert "'amplitude'" in msg and "Amplitude answered 503: Service Unavailable" in msg
    assert warnings[0].fields["status"] == 503
    assert _records(caplog, logging.INFO) == []
    overview = _overview(relay)
    assert "Deliveries failing for" in overview and "Amplitude answered 503: Service Unavailable" in overview

    fake.configure(fail_next=0)
    wait_for(lambda: "During Outage" in {e["data"]["event_type"] for e in fake.events()})
    wait_for(lambda: _records(caplog, logging.INFO))
    recovered = _records(caplog, logging.INFO)
    assert len(recovered) == 1 and "recovered after" in recovered[0].getMessage()
    ready = wait_for(lambda: (r := _ready(relay)).status_code == 200 and r)
    assert ready.json()["ready"] is True and ready.json()["reason"] == "ok"
    assert ready.json()["checks"]["destinations"]["failing"] == {}
    assert "Deliveries failing" not in _overview(relay)
    _track(relay, "After Outage")
    wait_for(lambda: "After Outage" in {e["data"]["event_type"] for e in fake.events()})
    assert len(_records(caplog, logging.WARNING)) == 1 and len(_records(caplog, logging.INFO)) == 1
    metrics = httpx.get(relay.url + "/metrics").text
    assert 'amprelay_destination_failing{destination="amplitude"} 0.0' in metrics


def _overview(relay: ThreadedRelay) -> str:
    r = httpx.get(relay.url + "/console/overview/panel", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 200
    return r.text


def _failing(relay: ThreadedRelay) -> dict:
    """The destination's current failure episode as /ready details show it ({} when none)."""
    return _ready(relay).json()["checks"]["destinations"]["failing"].get("amplitude", {})


def test_unreachable_amplitude_warns_with_the_transport_error_repeats_at_most_per_interval(tmp_path, relays,
                                                                                           caplog):
    caplog.set_level(logging.INFO, logger=HEALTH_LOG)
    port = free_port()  # nothing listens there yet
    relay = _start(relays, tmp_path / "data", f"http://127.0.0.1:{port}", repeat_seconds=1.0)
    _track(relay, "Nobody Home")
    wait_for(lambda: len(_records(caplog, logging.WARNING)) >= 3, timeout=20)
    warnings = _records(caplog, logging.WARNING)
    assert "no answer from Amplitude" in warnings[0].getMessage()
    assert warnings[0].fields["status"] is None
    assert "still failing" in warnings[1].getMessage()
    gaps = [b.created - a.created for a, b in zip(warnings, warnings[1:], strict=False)]
    assert all(g >= 0.99 for g in gaps), gaps  # at most one repeat per interval
    body = wait_for(lambda: (r := _ready(relay)).status_code == 503 and r).json()
    assert body["checks"]["destinations"]["failing"]["amplitude"]["status"] is None

    fake = run_fake(port=port)  # Amplitude comes back where the relay sends
    try:
        wait_for(lambda: "Nobody Home" in {e["data"]["event_type"] for e in fake.events()})
        wait_for(lambda: _records(caplog, logging.INFO))
        assert len(_records(caplog, logging.INFO)) == 1
        wait_for(lambda: _ready(relay).status_code == 200)
    finally:
        relays.pop().stop()
        fake.stop()
