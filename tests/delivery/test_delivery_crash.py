"""Crash test: 20,000 events in flight, the relay SIGKILLed at random moments several times and
restarted; afterwards the local Amplitude holds every event exactly once by insert_id."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from amprelay.delivery import DeliveryService, EnqueueItem
from amprelay.fakeamp import start_process
from amprelay.store.sqlite import SQLiteQueue
from tests.delivery.helpers import ev, events_req

HERE = os.path.dirname(os.path.abspath(__file__))
N = 20_000
KILLS = 5


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(20_000)
    db = str(tmp_path / "q.sqlite3")
    queue = SQLiteQueue(db)
    svc = DeliveryService(queue, {})  # not started: only its durable enqueue is used here
    for start in range(0, N, 1000):
        svc.enqueue_many([EnqueueItem("amp", f"msg-{i}", [events_req([ev(f"user-{i % 300:05d}", i)])], "s")
                          for i in range(start, start + 1000)])
    queue.close()
    # some answers get lost after Amplitude took the batch: resends that dedupe must absorb
    fake = start_process(latency_ms=15, drop_next=4, drop_mode="after", seed=7)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])}
    try:
        kills = 0
        accepted_at_kill: list[int] = []
        # kill points: after a random number of recorded events, plus a random moment after that
        thresholds = sorted(rng.sample(range(500, N - 2000), KILLS))
        for threshold in thresholds:
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_crash_worker.py"), db, fake.url],
                                    stdout=subprocess.PIPE, env=env)
            assert proc.stdout.readline().strip() == b"started"
            deadline = time.monotonic() + 60
            while fake.stats()["records_total"] < threshold and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.05))
            if proc.poll() is not None:
                break  # it finished before we could kill it
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            accepted_at_kill.append(fake.stats()["records_total"])
        final = subprocess.run([sys.executable, os.path.join(HERE, "_crash_worker.py"), db, fake.url],
                               capture_output=True, env=env, timeout=240)
        assert final.returncode == 0, final.stderr.decode()[-2000:]
        records = fake.events(path="/2/httpapi")
        stats = fake.stats()
    finally:
        fake.stop()
    assert kills == KILLS, "the relay was not killed mid-flight often enough"
    assert all(a < N for a in accepted_at_kill)  # each kill hit a relay with events in flight
    print(f"\ncrash test: killed at {accepted_at_kill} accepted events; {stats['duplicates']} duplicates "
          f"deduplicated; {len(records)} recorded")
    insert_ids = [r["data"]["insert_id"] for r in records]
    ns = sorted(r["data"]["event_properties"]["n"] for r in records)
    assert ns == list(range(N))  # every event, once
    assert len(set(insert_ids)) == len(insert_ids) == N
    assert stats["duplicates"] >= 4  # at-least-once: resends happened and Amplitude deduplicated them
    per_user: dict[str, list[int]] = {}
    for r in records:
        per_user.setdefault(r["data"]["user_id"], []).append(r["data"]["event_properties"]["n"])
    assert all(v == sorted(v) for v in per_user.values())  # each user's events in order
    queue = SQLiteQueue(db)
    assert queue.stats().depth == 0 and queue.count_dead() == 0
    queue.close()


def _worker_pids(pid: int) -> dict[str, int]:
    """`serve --workers`'s processes by name (the last word of their command line)."""
    found: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                name = Path(f"/proc/{child}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")[-1].decode()
                found[name] = int(child)
    return found


def _queued(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("amprelay_queue_depth{"))


@pytest.mark.slow
def test_sigkill_of_the_delivery_process_and_the_relay_loses_and_duplicates_nothing(tmp_path):
    """The same queue delivered by `amprelay serve --workers 1` (delivery in a process of its own):
    the delivery process and the relay's main process SIGKILLed at random moments, in turn."""
    from tests.helpers.relay import free_port, start_serve

    rng = random.Random(15)
    db = tmp_path / "data" / "q.sqlite3"
    db.parent.mkdir()
    queue = SQLiteQueue(db)
    svc = DeliveryService(queue, {})
    for start in range(0, N, 1000):
        svc.enqueue_many([EnqueueItem("amp", f"msg-{i}", [events_req([ev(f"user-{i % 300:05d}", i)])], "s")
                          for i in range(start, start + 1000)])
    queue.close()
    fake = start_process(latency_ms=15, drop_next=4, drop_mode="after", seed=7)
    port = free_port()
    config = tmp_path / "amprelay.yaml"
    config.write_text(f"""
data_dir: {tmp_path / 'data'}
sources: [{{name: web, write_key: crash-write-key}}]
queue: {{path: {db}}}
server: {{port: {port}, workers: 1}}
delivery: {{amplitude_url: "{fake.url}", linger_ms: 0, concurrency: 3, timeout_seconds: 2}}
""")
    proc = start_serve(config, port)
    kills: list[tuple[str, int]] = []
    try:
        for k, threshold in enumerate(sorted(rng.sample(range(500, N - 2000), KILLS))):
            deadline = time.monotonic() + 60
            while fake.stats()["records_total"] < threshold and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.05))
            workers = _worker_pids(proc.pid)
            if k % 2 == 0 and "deliver" in workers:  # the relay starts another delivery process
                os.kill(workers["deliver"], signal.SIGKILL)
                kills.append(("deliver", fake.stats()["records_total"]))
            else:  # the main process: its workers die with it
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills.append(("main", fake.stats()["records_total"]))
                proc = start_serve(config, port)
        deadline = time.monotonic() + 240
        while (fake.stats()["records_total"] < N or _queued(port)) and time.monotonic() < deadline:
            time.sleep(0.1)
        records = fake.events(path="/2/httpapi")
        stats = fake.stats()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        fake.stop()
    assert [w for w, _ in kills].count("deliver") >= 2 and [w for w, _ in kills].count("main") >= 2
    assert all(a < N for _, a in kills)  # each kill hit a relay with events in flight
    print(f"\ncrash test (serve --workers 1): killed {kills}; {stats['duplicates']} duplicates deduplicated")
    insert_ids = [r["data"]["insert_id"] for r in records]
    ns = sorted(r["data"]["event_properties"]["n"] for r in records)
    assert ns == list(range(N))  # every event, once
    assert len(set(insert_ids)) == len(insert_ids) == N
    per_user: dict[str, list[int]] = {}
    for r in records:
        per_user.setdefault(r["data"]["user_id"], []).append(r["data"]["event_properties"]["n"])
    assert all(v == sorted(v) for v in per_user.values())  # each user's events in order
    queue = SQLiteQueue(db)
    assert queue.stats().depth == 0 and queue.count_dead() == 0
    queue.close()
