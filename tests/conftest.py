"""Fixtures shared across test packages: the local Amplitude and relays over real sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from amprelay.config import Config
from amprelay.fakeamp import run_in_thread as run_fake
from amprelay.relay.service import ThreadedRelay
from amprelay.relay.service import run_in_thread as run_relay
from tests.helpers.relay import relay_config


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


