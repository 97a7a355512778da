"""`amprelay serve --workers 2` as real processes: /metrics and /ready describe the whole relay
(the workers' counts added to the main process's), the data dir stays one relay's (a second one
is refused, naming the main process), and a stop takes every worker with it."""

from __future__ import annotations

import httpx

from amprelay.fakeamp import start_process
from tests.e2e.test_data_dir_lock import amprelay, assert_refused
from tests.helpers.relay import (
    WRITE_KEY,
    children,
    free_port,
    serve_config,
    start_serve,
    stop_with_workers,
    wait_for,
)


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def test_workers_share_one_relay_s_metrics_readiness_and_lock(tmp_path):
    fake = start_process(port=0)
    port = free_port()
    config = serve_config(tmp_path / "amprelay.yaml", port=port, amplitude_url=fake.url,
                          api_key="workers-api-key-000000000000001", workers=2)
    proc = start_serve(config, port)
    try:
        workers = wait_for(lambda: (lambda c: c if len(c) == 3 else None)(children(proc.pid)), timeout=20)
        batch = [{"type": "track", "event": "Worked", "userId": f"user-{i:05d}", "messageId": f"w-{i}"}
                 for i in range(50)]
        r = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""))
        assert r.status_code == 200
        wait_for(lambda: len(fake.events(path="/2/httpapi")) == 50, timeout=20)
        # the workers report twice a second
        wait_for(lambda: metric(port, "amprelay_units_delivered_total") == 50, timeout=10)
        assert metric(port, "amprelay_events_received_total") == 50  # ingest: the main process
        # the mapping processes (their last report may come after the delivery process's)
        wait_for(lambda: metric(port, "amprelay_events_mapped_total") == 50, timeout=10)
        assert metric(port, "amprelay_units_enqueued_total") == 50
        wait_for(lambda: metric(port, "amprelay_queue_depth") == 0, timeout=10)
        ready = httpx.get(f"http://127.0.0.1:{port}/ready").json()
        assert ready["ready"] is True and ready["checks"]["workers"] == {"ok": True}, ready
        assert_refused(amprelay("serve", "--config", str(config), "--port", str(free_port())),
                       tmp_path / "data", proc.pid)
        stop_with_workers(proc, workers)
        proc = start_serve(config, port)  # the lock went with them
    finally:
        proc.kill()
        proc.wait()
        fake.stop()

