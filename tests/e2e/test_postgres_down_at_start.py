"""`amprelay serve` on PostgreSQL when the database is down at start (a throw-away cluster):
it starts anyway, /health is ok, /ready is not, ingest answers 503 with Retry-After; it connects
(and migrates) once the database is up and becomes ready; a later outage and return likewise.
Every acknowledged message arrives."""

from __future__ import annotations

import signal
import subprocess

import httpx

from amprelay.fakeamp import run_in_thread
from tests.e2e.pgcluster import PgCluster, available
from tests.e2e.processes import write_serve_config
from tests.helpers.relay import AMPRELAY, WRITE_KEY, free_port, wait_for
from tests.requirements import require


def status(url: str) -> int:
    try:
        return httpx.get(url, timeout=3).status_code
    except httpx.HTTPError:
        return 0


def track(port: int, mid: str) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{port}/v1/track", auth=(WRITE_KEY, ""), timeout=15,
                      json={"event": "PG", "userId": "user-00001", "messageId": mid})


def test_serve_starts_without_its_database_and_recovers(tmp_path):
    reason = available()
    require(reason is None, reason or "")
    cluster = PgCluster()
    fake = run_in_thread()
    port = free_port()
    config = write_serve_config(tmp_path / "amprelay.yaml", tmp_path / "data", port, fake.url,
                                "pgdown-api-key-00000000000000001",
                                extra=f'queue: {{backend: postgres, dsn: "{cluster.dsn}"}}')

    proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: status(base + "/health") == 200 or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.stdout.read().decode()
        assert status(base + "/ready") == 503
        r = track(port, "pg-down-1")
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0

        cluster.start()
        wait_for(lambda: status(base + "/ready") == 200, timeout=60, interval=0.25)
        acked = []
        assert track(port, "pg-up-1").status_code == 200
        acked.append("pg-up-1")

        cluster.stop()  # an outage while running
        wait_for(lambda: track(port, "pg-away").status_code == 503, timeout=30, interval=0.25)
        wait_for(lambda: status(base + "/ready") == 503, timeout=30, interval=0.25)
        cluster.start()
        wait_for(lambda: status(base + "/ready") == 200, timeout=60, interval=0.25)
        assert track(port, "pg-up-2").status_code == 200
        acked.append("pg-up-2")

        def delivered() -> set[str]:
            return {e["data"]["insert_id"].rsplit("-", 1)[0] for e in fake.events(path="/2/httpapi")}

        wait_for(lambda: set(acked) <= delivered(), timeout=60, interval=0.25)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        fake.stop()
        cluster.remove()
    assert b"Traceback" not in out, out.decode()
