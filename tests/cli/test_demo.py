"""`amprelay demo` in an 80-column terminal: every line fits, and its temporary directory goes."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_fits_80_columns_and_removes_its_temporary_directory(tmp_path):
    env = {**os.environ, "COLUMNS": "80", "TMPDIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "demo"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Amplitude received 9 records" in r.stdout and "queue depth 0, dead letters 0" in r.stdout
    assert [line for line in lines if len(line) > 80] == []
    header = next(line for line in lines if "event type / kind" in line)
    assert "user / device" in header and "details" in header
    assert any("Order Completed" in line and "user-1001" in line for line in lines)  # rows stay legible
    assert list(tmp_path.iterdir()) == []  # the store's temporary directory was removed
