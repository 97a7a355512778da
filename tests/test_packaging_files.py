"""Files that ship beside the code: the systemd unit in docs/ (checked by `systemd-analyze
verify` where it exists) and the LICENSE. Building and installing the wheel and sdist is CI's
`dev/check_dist.py` step."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "docs" / "amprelay.service"
INSTALLED_AT = "/opt/amprelay/bin/amprelay"


def test_systemd_unit_verifies(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (no systemd on this machine)")
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED_AT} serve " in text
    # verify checks that ExecStart exists: point it at this environment's amprelay
    here = shutil.which("amprelay", path=str(Path(sys.executable).parent))
    assert here, "the amprelay entry point is not installed next to this Python"
    unit = tmp_path / "amprelay.service"
    unit.write_text(text.replace(INSTALLED_AT, here))
    res = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr.strip() == "", res.stdout + res.stderr


def test_systemd_unit_stops_gracefully_and_restarts():
    lines = dict(line.split("=", 1) for line in UNIT.read_text().splitlines() if "=" in line and not line.startswith("#"))
    assert lines["KillSignal"] == "SIGTERM" and int(lines["TimeoutStopSec"]) > 30  # delivery's 30 s drain fits
    assert lines["Restart"] == "on-failure" and lines["StateDirectory"] == "amprelay"


def test_license_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "amprelay contributors" in text
