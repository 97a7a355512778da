"""Several `amprelay serve` processes sharing one PostgreSQL queue, against the real database:
a relay SIGKILLed mid-delivery (its buckets move), and PostgreSQL restarted under load."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from amprelay.fakeamp import start_process
from tests.e2e import pgcluster
from tests.helpers.relay import WRITE_KEY, free_port, serve_config, start_serve, wait_for
from tests.requirements import require


def write_config(path: Path, dsn: str, port: int, fake_url: str) -> Path:
    return serve_config(path, port=port, amplitude_url=fake_url, api_key="scale-api-key-0000000000000001",
                        queue=f'{{backend: postgres, dsn: "{dsn}", bucket_lease_seconds: 3}}',
                        data_dir=path.parent / f"data-{port}")


def start_relay(config: Path, port: int) -> subprocess.Popen:
    return start_serve(config, port, timeout=30)


def send(ports: list[int], users: int, per_user: int, acked: list[str], stop: threading.Event | None = None) -> None:
    """One sender, batches round-robin over the relays, each user's events in sequence order."""
    seq = 0
    with httpx.Client(timeout=10, auth=(WRITE_KEY, "")) as client:
        for round_ in range(per_user):
            batch = [{"type": "track", "event": "Scale Test", "userId": f"user-{u:04d}",
                      "messageId": f"scale-{u:04d}-{round_:05d}", "properties": {"seq": round_}}
                     for u in range(users)]
            for attempt in range(600):
                if stop is not None and stop.is_set():
                    return
                port = ports[(seq + attempt) % len(ports)]
                try:
                    r = client.post(f"http://127.0.0.1:{port}/v1/batch", json={"batch": batch})
                except httpx.HTTPError:
                    r = None
                if r is not None and r.status_code == 200:
                    acked.extend(m["messageId"] for m in batch)
                    break
                time.sleep(0.05)  # refused (5xx) or down: an SDK retries
            seq += 1


def check_delivery(fake, acked: list[str]) -> None:
    expected = set(acked)

    def delivered() -> list[dict]:
        return [e["data"] for e in fake.events(path="/2/httpapi")]

    wait_for(lambda: expected <= {d["insert_id"].rsplit("-", 1)[0] for d in delivered()}, timeout=90, interval=0.5)
    events = delivered()
    ids = [d["insert_id"] for d in events]
    assert len(ids) == len(set(ids)), "an event was recorded twice"
    by_user: dict[str, list[int]] = defaultdict(list)
    for d in events:
        by_user[d["user_id"]].append(d["event_properties"]["seq"])
    for user, seqs in by_user.items():
        assert seqs == sorted(seqs), f"{user}'s events arrived out of order: {seqs}"


@pytest.mark.slow
def test_three_relays_one_killed_mid_delivery(tmp_path, pg_dsn):
    fake = start_process(port=0, latency_ms=30)
    ports = [free_port() for _ in range(3)]
    procs = [start_relay(write_config(tmp_path / f"r{i}.yaml", pg_dsn, p, fake.url), p) for i, p in enumerate(ports)]
    acked: list[str] = []
    try:
        sender = threading.Thread(target=send, args=(ports, 40, 60, acked))
        sender.start()
        wait_for(lambda: len(fake.events(path="/2/httpapi")) > 300, timeout=60)
        os.kill(procs[0].pid, signal.SIGKILL)  # mid-delivery: its leased units and buckets must move
        procs[0].wait()
        sender.join(120)
        assert len(acked) == 40 * 60
        check_delivery(fake, acked)
        print(f"acked {len(acked)}; duplicates Amplitude deduplicated: {fake.stats().get('duplicates')}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        fake.stop()


@pytest.mark.slow
def test_postgres_restart_under_load(tmp_path):
    """PostgreSQL stopped and started under load: a throw-away cluster on a free port (the shared
    server is never touched)."""
    why = pgcluster.available()
    require(why is None, why or "")
    cluster = pgcluster.PgCluster()
    cluster.start()
    fake = start_process(port=0)
    port = free_port()
    proc = start_relay(write_config(tmp_path / "r.yaml", cluster.dsn, port, fake.url), port)
    acked: list[str] = []
    statuses: list[int] = []
    try:
        sender = threading.Thread(target=send, args=([port], 20, 150, acked))
        sender.start()
        time.sleep(1.0)
        cluster.stop()
        try:
            time.sleep(2.0)
            r = httpx.post(f"http://127.0.0.1:{port}/v1/track", auth=(WRITE_KEY, ""),
                           json={"event": "During Outage", "userId": "user-outage"}, timeout=15)
            statuses.append(r.status_code)
        finally:
            cluster.start()
        sender.join(180)
        assert statuses == [503], statuses  # refused, so SDKs retry; nothing half-accepted
        assert len(acked) == 20 * 150
        check_delivery(fake, acked)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        fake.stop()
        cluster.remove()
