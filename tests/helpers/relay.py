"""Relay configuration, relay processes and polling shared by the tests (no fixtures: import
what you use): free ports, `amprelay serve` started and waited for, its worker processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from bench._procs import children as children  # the benchmarks' copies serve the tests too
from bench._procs import free_port as free_port

from amprelay.config import Config, parse_config

AMPRELAY = [sys.executable, "-m", "amprelay.cli.main"]
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


def start_serve(config: Path, port: int, timeout: float = 20.0) -> subprocess.Popen:
    """`amprelay serve --config CONFIG` (warnings only, output dropped), once /health answers on ``port``."""
    proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: healthy(port), timeout=timeout)
    except AssertionError:
        proc.kill()
        proc.wait()
        raise RuntimeError("amprelay serve did not start") from None
    return proc


def serve_config(path: Path, *, port: int, amplitude_url: str, api_key: str = API_KEY, workers: int = 0,
                 queue: str = "", data_dir: Path | None = None, ingest_processes: int = 0, extra: str = "") -> Path:
    """A config file for `amprelay serve`: source ``web`` (:data:`WRITE_KEY`), one destination with
    the presets, delivery to ``amplitude_url``; ``queue``: a ``queue:`` section's flow mapping;
    the data dir is ``data`` beside the file unless given."""
    path.write_text(f"""
data_dir: {data_dir or path.parent / 'data'}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations:
  - name: amplitude
    settings: {{apiKey: {api_key}, secretKey: s}}
    presets: true
{f"queue: {queue}" if queue else ""}
server: {{port: {port}, workers: {workers}, ingest_processes: {ingest_processes}}}
delivery: {{amplitude_url: "{amplitude_url}", linger_ms: 5}}
{extra}""")
    return path


def stop_process(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (a graceful stop), then SIGKILL if it is still running after ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_with_workers(proc: subprocess.Popen, workers: list[int], timeout: float = 10.0) -> None:
    """SIGTERM the relay and assert its worker processes ``workers`` went with it."""
    import signal

    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    deadline = time.monotonic() + timeout
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "a worker process outlived the relay"
