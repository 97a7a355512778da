"""Helpers the benchmarks share: free ports, waiting for a server, stopping processes, a relay's
worker processes, process CPU and memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def stop_all(procs: list[subprocess.Popen], timeout: float) -> None:
    """SIGTERM every process, then wait for each (SIGKILL past ``timeout``)."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()


def children(pid: int) -> list[int]:
    """The worker processes of `amprelay serve --workers` (Linux)."""
    found: list[int] = []
    try:  # each thread's children (the workers are started by a thread of the main process)
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


BENCH_WRITE_KEY = "bench-write-key"


def ingest_bench_config(data_dir: Path, port: int, workers: int, amplitude_url: str | None = None,
                        ingest_processes: int = 0) -> str:
    """The relay config of the ingest benches (bench/ingest.py, dev/profile_ingest.py): one source,
    one Amplitude destination with the presets, the embedded store in ``data_dir``; without
    ``amplitude_url`` nothing is delivered anywhere real."""
    delivery = f'delivery: {{amplitude_url: "{amplitude_url}"}}\n' if amplitude_url else ""
    return f"""
data_dir: {data_dir}
sources: [{{name: bench, write_key: {BENCH_WRITE_KEY}}}]
destinations:
  - name: amplitude
    settings: {{apiKey: bench-api-key-0000000000000001, secretKey: s, endpoint: north_america}}
    presets: true
server: {{host: 127.0.0.1, port: {port}, workers: {workers}, ingest_processes: {ingest_processes}}}
{delivery}ingest: {{dedupe_window: 0}}  # the corpus repeats its messageIds: measure mapping, not the dedupe
"""
