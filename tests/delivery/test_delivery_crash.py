"""Crash test: 20,000 events in flight, the relay SIGKILLed at random moments several times and
restarted; afterwards the local Amplitude holds every event exactly once by insert_id."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

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
