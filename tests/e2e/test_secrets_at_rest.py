"""Nothing secret at rest, with a real `amprelay serve` and the stand-in: under umask 022 the data
dir is 0700 and every file in it 0600 (the SQLite file, its -wal and -shm, the lock, the console's
record); queued units keep no API key, and after the key is rotated in the config and the relay
restarted they go out with the new one."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import httpx

from amprelay.fakeamp import run_in_thread
from tests.e2e.processes import write_serve_config
from tests.helpers.relay import AMPRELAY, WRITE_KEY, free_port, wait_for

OLD_KEY = "rotate-old-key-00000000000000001"
NEW_KEY = "rotate-new-key-00000000000000002"


def write_config(path: Path, data: Path, port: int, amplitude_url: str, api_key: str) -> None:
    write_serve_config(path, data, port, amplitude_url, api_key)


def serve(config: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "AMPRELAY_ADMIN_TOKEN": "at-rest-admin-token-0001"}
    proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, umask=0o022)
    wait_for(lambda: _status(f"http://127.0.0.1:{port}/health") == 200, timeout=30)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def send(port: int, n: int, prefix: str) -> list[str]:
    ids = [f"{prefix}-{i:04d}" for i in range(n)]
    batch = [{"type": "track", "event": "Rotated", "userId": f"user-{i:05d}", "messageId": mid}
             for i, mid in enumerate(ids)]
    r = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""), timeout=10)
    assert r.status_code == 200, r.text
    return ids


def modes(data: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}


def queued_with_key(data: Path, key: str) -> int:
    """Routes and units that hold ``key`` (Amplitude's echo of a refused key in an error text is
    the masking function's business, not the queue's)."""
    import sqlite3

    with sqlite3.connect(data / "amprelay.sqlite3") as c:
        return c.execute("SELECT (SELECT COUNT(*) FROM routes WHERE instr(key, ?) > 0) + "
                         "(SELECT COUNT(*) FROM units WHERE instr(entry, ?) > 0)", (key, key)).fetchone()[0]


def test_private_files_and_a_rotated_key_applies_to_queued_units(tmp_path):
    fake = run_in_thread(valid_api_keys=(NEW_KEY,))  # the old key is refused: units are held
    data = tmp_path / "data"
    config = tmp_path / "amprelay.yaml"
    port = free_port()
    write_config(config, data, port, fake.url, OLD_KEY)
    proc = serve(config, port)
    try:
        ids = send(port, 20, "rot")
        wait_for(lambda: 'amprelay_destination_api_key_invalid{destination="amplitude"} 1.0' in
                 httpx.get(f"http://127.0.0.1:{port}/metrics").text, timeout=30)  # held: Amplitude refuses it
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        running = modes(data)
        assert {"amprelay.sqlite3", "amprelay.sqlite3-wal", "amprelay.sqlite3-shm", "amprelay.lock"} <= set(running)
        assert all(m == 0o600 for m in running.values()), running
        assert queued_with_key(data, OLD_KEY) == 0  # queued units keep no key
    finally:
        stop(proc)
    stopped = modes(data)
    assert "console-activity.json" in stopped and all(m == 0o600 for m in stopped.values()), stopped
    assert fake.events(path="/2/httpapi") == []  # nothing went out with the old key

    write_config(config, data, port, fake.url, NEW_KEY)  # rotate the key, restart
    proc = serve(config, port)
    try:
        def delivered() -> set[str]:
            return {e["data"]["insert_id"].rsplit("-", 1)[0] for e in fake.events(path="/2/httpapi")}

        wait_for(lambda: set(ids) <= delivered(), timeout=60, interval=0.25)
        assert {e.get("api_key") for e in fake.events(path="/2/httpapi")} == {NEW_KEY}
    finally:
        stop(proc)
        fake.stop()
    assert all(m == 0o600 for m in modes(data).values())
    assert queued_with_key(data, OLD_KEY) == 0 and queued_with_key(data, NEW_KEY) == 0
