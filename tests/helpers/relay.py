"""Relay configuration and polling shared by the end-to-end tests (no fixtures: import what you use)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from amprelay.config import Config, parse_config

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


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


def healthy(port: int) -> bool:
    """Whether a relay answers /health on 127.0.0.1:``port``."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def stop_process(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (a graceful stop), then SIGKILL if it is still running after ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
