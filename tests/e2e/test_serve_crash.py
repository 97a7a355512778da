"""`amprelay serve` as a real process, killed with SIGKILL while it ingests and delivers:
every message it acknowledged reaches the local Amplitude exactly once after restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from amprelay.fakeamp import start_process
from tests.helpers.relay import WRITE_KEY, wait_for

AMPRELAY = [sys.executable, "-m", "amprelay.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(config: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("amprelay serve did not start")


@pytest.mark.slow
def test_sigkill_during_ingest_and_delivery_loses_nothing(tmp_path):
    fake = start_process(port=0, latency_ms=20)
    port = free_port()
    config = tmp_path / "amprelay.yaml"
    config.write_text(f"""
data_dir: {tmp_path / 'data'}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations:
  - name: amplitude
    settings: {{apiKey: crash-api-key-00000000000000001, secretKey: s}}
    presets: true
server: {{port: {port}}}
delivery: {{amplitude_url: "{fake.url}", linger_ms: 5}}
""")
    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def sender() -> None:
        n = 0
        with httpx.Client(timeout=5, auth=(WRITE_KEY, "")) as client:
            while not stop.is_set() and n < 4000:
                batch = [{"type": "track", "event": "Crash Test", "userId": f"user-{(n + i) % 37:04d}",
                          "messageId": f"crash-{n + i:06d}", "properties": {"n": n + i}} for i in range(20)]
                try:
                    r = client.post(f"http://127.0.0.1:{port}/v1/batch", json={"batch": batch})
                except httpx.HTTPError:
                    time.sleep(0.05)  # relay down: an SDK retries the same batch
                    continue
                if r.status_code == 200:
                    with lock:
                        acked.update(m["messageId"] for m in batch)
                    n += 20
                else:
                    time.sleep(0.05)

    proc = start_serve(config, port)
    t = threading.Thread(target=sender)
    t.start()
    try:
        for _ in range(4):
            time.sleep(0.6)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc = start_serve(config, port)
        t.join(60)
        stop.set()
        with lock:
            expected = set(acked)
        assert len(expected) >= 1000

        def delivered() -> set[str]:
            # delivery's stable insert_id is "<messageId>-<digest of destination/subscription/request>"
            return {e["data"]["insert_id"].rsplit("-", 1)[0] for e in fake.events(path="/2/httpapi")}

        try:
            wait_for(lambda: expected <= delivered(), timeout=60, interval=0.25)
        except AssertionError:
            missing = expected - delivered()
            raise AssertionError(f"{len(missing)} of {len(expected)} acknowledged messages never arrived, e.g. {sorted(missing)[:5]}; queue: {sorted(delivered())[:3]}") from None
        records = fake.events(path="/2/httpapi")
        ids = [e["data"]["insert_id"] for e in records]
        assert len(ids) == len(set(ids)), "an event was recorded twice"
        assert {i.rsplit("-", 1)[0] for i in ids} >= expected
        stats = fake.stats()
        print(f"acked {len(expected)}, recorded {len(ids)}, duplicates deduplicated by Amplitude: "
              f"{stats.get('duplicates')}")
    finally:
        stop.set()
        proc.kill()
        proc.wait()
        fake.stop()
