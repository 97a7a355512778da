"""A local stand-in for Amplitude's HTTP APIs (``amprelay fake-amplitude``), for tests, demos and
benchmarks. See :mod:`amprelay.fakeamp.app` for the served paths and control endpoints.

    fake = run_in_thread(eps_limit=10)      # 127.0.0.1, ephemeral port, background thread
    httpx.post(fake.url + "/2/httpapi", json={...})
    fake.events(path="/2/httpapi")          # accepted records
    fake.configure(error_rate=0.2)          # change faults at runtime
    fake.stop()
"""

from amprelay.fakeamp.app import FakeAmplitude
from amprelay.fakeamp.config import FaultConfig, make_config
from amprelay.fakeamp.runner import (
    FakeAmplitudeHandle,
    ProcessFakeAmplitude,
    ThreadedFakeAmplitude,
    run_in_thread,
    serve,
    start_process,
)
from amprelay.fakeamp.userapi import amplitude_id_for

__all__ = [
    "FakeAmplitude",
    "FakeAmplitudeHandle",
    "FaultConfig",
    "ProcessFakeAmplitude",
    "ThreadedFakeAmplitude",
    "amplitude_id_for",
    "make_config",
    "run_in_thread",
    "serve",
    "start_process",
]
