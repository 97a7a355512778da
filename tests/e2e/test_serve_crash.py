"""`amprelay serve` as a real process, killed with SIGKILL while it ingests and delivers:
every message it acknowledged reaches the local Amplitude exactly once after restarts."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from amprelay.fakeamp import start_process
from tests.helpers.relay import WRITE_KEY, children, free_port, serve_config, start_serve, wait_for


def kill_main(proc: subprocess.Popen) -> bool:
    """SIGKILL the relay's main process (its workers die with it); True: start it again."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def kill_main_or_worker(rnd):
    def kill(proc: subprocess.Popen) -> bool:
        workers = children(proc.pid)
        if workers and rnd.random() < 0.75:  # a mapping or the delivery process; the relay restarts it
            os.kill(rnd.choice(workers), signal.SIGKILL)
            return False
        return kill_main(proc)
    return kill


def crash_run(tmp_path: Path, workers: int, kill, kills: int = 4) -> None:
    fake = start_process(port=0, latency_ms=20)
    port = free_port()
    config = serve_config(tmp_path / "amprelay.yaml", port=port, amplitude_url=fake.url,
                          api_key="crash-api-key-00000000000000001", workers=workers)
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
    try:
        if workers:
            wait_for(lambda: len(children(proc.pid)) == workers + 1, timeout=20)
        t.start()
        for _ in range(kills):
            time.sleep(0.6)
            if kill(proc):
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
            raise AssertionError(f"{len(missing)} of {len(expected)} acknowledged messages never arrived, "
                                 f"e.g. {sorted(missing)[:5]}") from None
        records = fake.events(path="/2/httpapi")
        ids = [e["data"]["insert_id"] for e in records]
        assert len(ids) == len(set(ids)), "an event was recorded twice"
        assert {i.rsplit("-", 1)[0] for i in ids} >= expected
        per_user: dict[str, list[int]] = {}
        for e in records:  # the stand-in keeps the first copy of each insert_id, in arrival order
            per_user.setdefault(e["data"]["user_id"], []).append(e["data"]["event_properties"]["n"])
        assert all(ns == sorted(ns) for ns in per_user.values()), "a user's events arrived out of order"
        stats = fake.stats()
        print(f"acked {len(expected)}, recorded {len(ids)}, duplicates deduplicated by Amplitude: "
              f"{stats.get('duplicates')}")
    finally:
        stop.set()
        proc.kill()
        proc.wait()
        fake.stop()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "workers-2"])
def test_sigkill_during_ingest_and_delivery_loses_nothing(tmp_path, workers):
    crash_run(tmp_path, workers, kill_main)


@pytest.mark.slow
def test_sigkill_of_worker_processes_and_the_main_process_loses_nothing(tmp_path):
    """`serve --workers 2`: mapping and delivery processes SIGKILLed at random (the relay restarts
    them), and the main process too (its workers die with it)."""
    crash_run(tmp_path, 2, kill_main_or_worker(random.Random(15)), kills=8)
