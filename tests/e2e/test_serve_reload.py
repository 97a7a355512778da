"""Reload without a restart, against a real `amprelay serve` process: SIGHUP and `amprelay reload`
apply a changed mapping to events accepted after it, events before it keep the old one, nothing
is lost or mapped twice; a broken config is refused with its errors and the old one keeps running.
On SQLite (the inbox) and on PostgreSQL (inline transform)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest

from amprelay.fakeamp import start_process
from amprelay.relay.reload import PID_FILE, STATUS_FILE
from tests.helpers.postgres import PG_DSN, PgSchemas, pg_available
from tests.helpers.relay import AMPRELAY, WRITE_KEY, free_port, healthy, stop_process, wait_for
from tests.requirements import require

API_KEY = "reload-api-key-000000000000001"


def _write_config(path: Path, data_dir: Path, port: int, fake_url: str, prefix: str, action: str = "logEventV2",
                 queue: str = "") -> None:
    path.write_text(f"""{queue}
data_dir: {data_dir}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations:
  - name: amplitude
    settings: {{apiKey: {API_KEY}, secretKey: s}}
    subscriptions:
      - name: Tracks
        trigger: type = "track"
        action: {action}
        mapping: {{defaults: true, event_type: {{"@template": "{prefix} {{{{event}}}}"}}}}
server: {{port: {port}}}
delivery: {{amplitude_url: "{fake_url}", linger_ms: 5}}
""")


def send(port: int, ids: list[str]) -> None:
    batch = [{"type": "track", "event": "Played", "userId": f"user-{i % 7:04d}", "messageId": m} for i, m in enumerate(ids)]
    r = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""), timeout=10)
    assert r.status_code == 200, r.text


def status(data_dir: Path) -> dict | None:
    try:
        return orjson.loads((data_dir / STATUS_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


@pytest.fixture(params=["sqlite", "postgres"])
def queue_section(request):
    """SQLite (the inbox: rows keep the config they arrived under) or PostgreSQL (inline)."""
    if request.param == "sqlite":
        yield ""
        return
    require(pg_available(), f"PostgreSQL is not reachable at {PG_DSN}")
    schemas = PgSchemas()
    yield f"queue: {{backend: postgres, dsn: '{schemas.dsn()}'}}\n"
    schemas.drop()


def test_sighup_and_amprelay_reload_swap_the_config_of_a_running_serve(tmp_path, queue_section):
    fake = start_process(port=0)
    port = free_port()
    data_dir = tmp_path / "data"
    config = tmp_path / "amprelay.yaml"

    def write_config(path, data_dir, port, fake_url, prefix, action="logEventV2"):
        _write_config(path, data_dir, port, fake_url, prefix, action, queue_section)

    write_config(config, data_dir, port, fake.url, "v1")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config)], stdout=log, stderr=log)
    try:
        wait_for(lambda: healthy(port), timeout=20)
        assert (data_dir / PID_FILE).read_text().strip() == str(proc.pid)

        before = [f"before-{i:03d}" for i in range(60)]
        send(port, before)
        write_config(config, data_dir, port, fake.url, "v2")
        os.kill(proc.pid, signal.SIGHUP)  # right behind the batch: some of it may still be in the inbox
        after = [f"after-{i:03d}" for i in range(60)]
        wait_for(lambda: (status(data_dir) or {}).get("generation") == 2, timeout=20)
        send(port, after)

        # a broken config: refused, with its errors, by `amprelay reload`; the v2 config keeps running
        write_config(config, data_dir, port, fake.url, "v3", action="noSuchAction")
        out = subprocess.run([*AMPRELAY, "reload", "--config", str(config)], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 1, out
        assert "invalid" in out.stderr and "unknown action 'noSuchAction'" in out.stderr
        assert "Traceback" not in out.stderr
        still = [f"still-{i:03d}" for i in range(20)]
        send(port, still)

        def delivered() -> dict[str, list[str]]:
            seen: dict[str, list[str]] = {}
            for e in fake.events(path="/2/httpapi"):
                seen.setdefault(e["data"]["insert_id"].rsplit("-", 1)[0], []).append(e["data"]["event_type"])
            return seen

        wait_for(lambda: len(delivered()) == 140, timeout=60, interval=0.2)
        seen = delivered()
        assert all(len(v) == 1 for v in seen.values()), "an event was mapped or delivered twice"
        assert {seen[m][0] for m in before} == {"v1 Played"}
        assert {seen[m][0] for m in after + still} == {"v2 Played"}

        # and a good one through `amprelay reload` applies
        write_config(config, data_dir, port, fake.url, "v4")
        out = subprocess.run([*AMPRELAY, "reload", "--data-dir", str(data_dir)], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0 and "reloaded: config generation 3" in out.stdout, out
        send(port, ["last-000"])
        wait_for(lambda: delivered().get("last-000") == ["v4 Played"], timeout=30)
        assert proc.poll() is None
    finally:
        stop_process(proc)
        fake.stop()
    logs = log_path.read_text()
    assert "config reloaded" in logs and "reload refused" in logs and "noSuchAction" in logs
    assert not (data_dir / PID_FILE).exists()  # removed on shutdown


def test_amprelay_reload_without_a_running_relay_says_so(tmp_path):
    out = subprocess.run([*AMPRELAY, "reload", "--data-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "no running relay found" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / PID_FILE).write_text("999999999\n")
    out = subprocess.run([*AMPRELAY, "reload", "--data-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "is not running" in out.stderr, out


