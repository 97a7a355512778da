"""Skip-or-fail for tests that need a service or a tool: on a developer's machine without it
they skip with the reason; in CI (AMPRELAY_REQUIRE_SERVICES=1) they fail instead."""

from __future__ import annotations

import os

import pytest


def services_required() -> bool:
    return os.environ.get("AMPRELAY_REQUIRE_SERVICES") == "1"


def require(available: object, reason: str) -> None:
    if available:
        return
    if services_required():
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)
