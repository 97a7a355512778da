"""The suite never reads the checkout's config or data dir, nor the relay's environment."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import RELAY_ENVIRONMENT

CHECKOUT = Path(__file__).resolve().parent.parent


def test_tests_run_outside_the_checkout_without_the_relays_environment():
    cwd = Path.cwd().resolve()
    assert cwd != CHECKOUT and CHECKOUT not in cwd.parents
    assert not (cwd / "amprelay.yaml").exists() and not (cwd / "data").exists()
    assert not [k for k in RELAY_ENVIRONMENT if k in os.environ]


def test_the_readme_files_are_ignored_by_git():
    ignored = (CHECKOUT / ".gitignore").read_text().splitlines()
    assert "/amprelay.yaml" in ignored and "/data/" in ignored
