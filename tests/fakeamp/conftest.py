from __future__ import annotations

from collections.abc import Iterator

import pytest

from amprelay.fakeamp import FaultConfig, ThreadedFakeAmplitude, run_in_thread

DEFAULTS = FaultConfig().as_dict()


@pytest.fixture(scope="session")
def fake_server() -> Iterator[ThreadedFakeAmplitude]:
    fake = run_in_thread()
    yield fake
    fake.stop()


@pytest.fixture
def fake(fake_server: ThreadedFakeAmplitude) -> ThreadedFakeAmplitude:
    """The shared fake, with default settings and no records."""
    fake_server.configure(**DEFAULTS)
    fake_server.reset()
    return fake_server
