"""Fixtures that start the real pieces over real sockets: the local Amplitude and a relay."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from amprelay.config import Config, parse_config
from amprelay.fakeamp import run_in_thread as run_fake
from amprelay.relay.service import ThreadedRelay
from amprelay.relay.service import run_in_thread as run_relay

WRITE_KEY = "wk-e2e-0001"
API_KEY = "e2e-api-key-000000000000000000001"


def relay_config(data_dir: Path, amplitude_url: str, extra: str = "", stable_insert_id: bool = False,
                 presets: bool = True) -> Config:
    text = f"""
data_dir: {data_dir}
sources:
  - name: web
    write_key: {WRITE_KEY}
destinations:
  - name: amplitude
    settings: {{apiKey: {API_KEY}, secretKey: e2e-secret, endpoint: north_america}}
    presets: {str(presets).lower()}
    stable_insert_id: {str(stable_insert_id).lower()}
{extra}
server: {{port: 0}}
delivery: {{amplitude_url: "{amplitude_url}", linger_ms: 5}}
"""
    return parse_config(text, "<e2e>").config


@pytest.fixture
def fake():
    handle = run_fake(port=0)
    yield handle
    handle.stop()


@pytest.fixture
def start_relay(tmp_path, fake) -> Iterator[Callable[..., ThreadedRelay]]:
    started: list[ThreadedRelay] = []

    def start(extra: str = "", stable_insert_id: bool = False, presets: bool = True,
              config: Config | None = None) -> ThreadedRelay:
        cfg = config or relay_config(tmp_path / "data", fake.url, extra, stable_insert_id, presets)
        relay = run_relay(cfg)
        started.append(relay)
        return relay

    yield start
    for r in started:
        r.stop()


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
