"""Fixtures shared across test packages: the local Amplitude and relays over real sockets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from amprelay.config import Config
from amprelay.fakeamp import run_in_thread as run_fake
from amprelay.wiring import ThreadedRelay
from amprelay.wiring import run_in_thread as run_relay
from tests.helpers.relay import relay_config

# What `amprelay serve` and the other commands read from the environment.
RELAY_ENVIRONMENT = ("AMPRELAY_WRITE_KEY", "AMPLITUDE_API_KEY", "AMPLITUDE_SECRET_KEY", "AMPLITUDE_REGION",
                     "AMPRELAY_DATA_DIR", "AMPRELAY_AMPLITUDE_URL", "AMPRELAY_ADMIN_TOKEN", "AMPRELAY_LOG_LEVEL")


@pytest.fixture(scope="session", autouse=True)
def _outside_the_checkout(tmp_path_factory) -> Iterator[None]:
    """Run every test from an empty directory, without the relay's environment variables: an
    ``amprelay.yaml`` or ``data/`` in the checkout (where the README has you write them) or an
    exported AMPRELAY_WRITE_KEY never reaches a test (subprocesses inherit both). The test
    suite's own switches (AMPRELAY_REQUIRE_SERVICES, AMPRELAY_TEST_PG_DSN, ...) stay."""
    before, saved = os.getcwd(), {k: os.environ.pop(k) for k in RELAY_ENVIRONMENT if k in os.environ}
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(before)
    os.environ.update(saved)


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """A DSN on a schema of its own on the shared PostgreSQL server (AMPRELAY_TEST_PG_DSN), dropped
    after the test; the test is skipped (or fails, under AMPRELAY_REQUIRE_SERVICES) without one."""
    from tests.helpers.postgres import PG_DSN, PgSchemas, pg_available
    from tests.requirements import require

    require(pg_available(), f"PostgreSQL is not reachable at {PG_DSN}")
    schemas = PgSchemas()
    yield schemas.dsn()
    schemas.drop()


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


