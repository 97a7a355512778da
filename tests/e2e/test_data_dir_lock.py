"""One writer per data dir, with real processes: while `amprelay serve` runs, another `serve`,
`replay` and `dlq retry|purge` on its data dir refuse at once with one line naming the data dir
and the holder's pid; `dlq list|show` and `replay --dry-run` still work; the lock goes with the
process (SIGKILL included)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import orjson

from tests.e2e.processes import write_serve_config
from tests.helpers.relay import AMPRELAY, free_port, start_serve


def write_config(tmp_path: Path, port: int) -> Path:
    return write_serve_config(tmp_path / "amprelay.yaml", tmp_path / "data", port, "http://127.0.0.1:9",
                              "lock-api-key-000000000000000001")


def amprelay(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*AMPRELAY, *args], capture_output=True, text=True, timeout=timeout)


def assert_refused(result: subprocess.CompletedProcess, data_dir: Path, pid: int) -> None:
    assert result.returncode != 0, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(data_dir) in lines[0] and f"process {pid}" in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_a_second_writer_is_refused_while_readers_work(tmp_path):
    port = free_port()
    config = write_config(tmp_path, port)
    data = tmp_path / "data"
    archive = tmp_path / "archive.jsonl"
    archive.write_bytes(orjson.dumps({"type": "track", "event": "Archived", "userId": "u1",
                                      "messageId": "arch-1", "timestamp": "2024-03-01T00:00:00Z"}) + b"\n")
    serve = start_serve(config, port)
    try:
        assert_refused(amprelay("serve", "--config", str(config), "--port", str(free_port())), data, serve.pid)
        assert_refused(amprelay("replay", str(archive), "--config", str(config), "--no-wait"), data, serve.pid)
        assert_refused(amprelay("dlq", "retry", "--all", "--config", str(config)), data, serve.pid)
        assert_refused(amprelay("dlq", "purge", "--all", "--config", str(config)), data, serve.pid)

        listed = amprelay("dlq", "list", "--config", str(config))
        assert listed.returncode == 0 and "no dead letters" in listed.stdout, listed
        shown = amprelay("dlq", "show", "1", "--config", str(config))
        assert shown.returncode == 1 and "no dead letter with id 1" in shown.stderr, shown
        assert amprelay("dlq", "purge", "--all", "--dry-run", "--config", str(config)).returncode == 0
        dry = amprelay("replay", str(archive), "--config", str(config), "--dry-run")
        assert dry.returncode == 0 and "messages 1" in dry.stderr, dry
    finally:
        os.kill(serve.pid, signal.SIGKILL)  # the kernel drops the lock with the process
        serve.wait()
    purged = amprelay("dlq", "purge", "--all", "--config", str(config))
    assert purged.returncode == 0 and "deleted 0 dead letter(s)" in purged.stdout, purged
    assert (data / "amprelay.lock").stat().st_mode & 0o777 == 0o600
