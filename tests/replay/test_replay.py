"""`amprelay replay` over real files and the local Amplitude."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import orjson
import pytest

from amprelay.replay import Checkpoints, file_key, iter_messages, message_time, parse_time
from tests.helpers.relay import AMPRELAY


def write_archive(path: Path, n: int, *, gz: bool = False, start_hour: int = 0, bad_lines: bool = False) -> list[dict]:
    msgs = []
    lines = []
    for i in range(n):
        msg = {"type": "track", "event": f"Archived {i % 3}", "userId": f"user-{i % 11:04d}",
               "messageId": f"{path.stem}-{i:05d}",
               "timestamp": f"2024-01-01T{start_hour + i // 60:02d}:{i % 60:02d}:00.000Z",
               "receivedAt": f"2024-01-01T{start_hour + i // 60:02d}:{i % 60:02d}:01.000Z"}
        msgs.append(msg)
        lines.append(orjson.dumps(msg))
    if bad_lines:
        lines.insert(3, b"{not json")
        lines.insert(5, orjson.dumps({"type": "track", "userId": "u-bad"}))  # no event
        lines.insert(7, b"")
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if gz else data)
    return msgs


def config_file(tmp: Path, amplitude_url: str = "http://127.0.0.1:9") -> Path:
    cfg = tmp / "amprelay.yaml"
    cfg.write_text(f"""
data_dir: {tmp / 'data'}
sources: [{{name: archive, write_key: wk}}]
destinations:
  - name: amplitude
    settings: {{apiKey: replay-api-key-000000000000001, secretKey: s}}
    presets: true
delivery: {{amplitude_url: "{amplitude_url}", linger_ms: 5}}
""")
    return cfg


def test_reads_plain_and_gzip_and_reports_bad_lines(tmp_path):
    plain, gz = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"
    write_archive(plain, 10, bad_lines=True)
    write_archive(gz, 10, gz=True)
    items = list(iter_messages(plain))
    errors = [i.error for i in items if i.error]
    assert len(errors) == 2
    assert any("not valid JSON" in e for e in errors) and any("event" in e for e in errors)
    assert sum(1 for i in items if i.message and not i.error) == 10
    assert sum(1 for i in iter_messages(gz) if i.message and not i.error) == 10
    assert [i.line_no for i in iter_messages(plain, skip_lines=11)] == [12, 13]


def test_message_time_and_window_parsing():
    assert message_time({"timestamp": "2024-01-01T00:00:00Z"}) == parse_time("2024-01-01T00:00:00+00:00")
    assert message_time({"receivedAt": "2024-01-01T00:00:01Z"}) == parse_time("2024-01-01T00:00:01Z")
    assert message_time({}) is None
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_checkpoints_are_atomic_and_keyed_by_file(tmp_path):
    f = tmp_path / "a.jsonl"
    write_archive(f, 3)
    cp = Checkpoints(tmp_path / "cp.json")
    cp.set(file_key(f), 2)
    assert Checkpoints(tmp_path / "cp.json").get(file_key(f)) == 2
    f.write_bytes(f.read_bytes() + b"\n")  # a changed file is a new file
    assert Checkpoints(tmp_path / "cp.json").get(file_key(f)) == 0


def test_dry_run_prints_per_subscription_counts_and_errors(tmp_path):
    archive = tmp_path / "day.jsonl"
    write_archive(archive, 30, bad_lines=True)
    r = subprocess.run([*AMPRELAY, "replay", "--config", str(config_file(tmp_path)), "--dry-run", str(archive)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "messages 30" in r.stderr
    assert "invalid 2" in r.stderr
    assert "amplitude/Track Calls: 30" in r.stderr
    assert "not valid JSON" in r.stderr
    assert not (tmp_path / "data" / "amprelay.sqlite3").exists() or "units queued 0" in r.stderr


def test_replay_delivers_resumes_and_respects_the_window(tmp_path, fake):
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl"
    write_archive(a, 120, gz=True, start_hour=0)  # 00:00 - 01:59
    write_archive(b, 60, start_hour=5)  # 05:00 - 05:59
    cfg = config_file(tmp_path, fake.url)
    cmd = [*AMPRELAY, "replay", "--config", str(cfg), "--until", "2024-01-01T05:30:00Z", "--batch", "25",
           str(a), str(b)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    events = fake.events(path="/2/httpapi")
    assert len(events) == 120 + 30
    assert "outside --since/--until 30" in r.stderr
    # running the same command again sends nothing twice: both files are checkpointed as done
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "resuming after line" in r.stderr
    assert len(fake.events(path="/2/httpapi")) == 150
    ids = [e["data"]["insert_id"] for e in fake.events(path="/2/httpapi")]
    assert len(set(ids)) == 150


def test_interrupted_replay_resumes_without_sending_twice(tmp_path, fake):
    import signal
    import time

    archive = tmp_path / "big.jsonl"
    write_archive(archive, 600)
    cfg = config_file(tmp_path, fake.url)
    cmd = [*AMPRELAY, "replay", "--config", str(cfg), "--batch", "25", "--rate", "250", str(archive)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoints = tmp_path / "data" / "replay-checkpoints.json"
    deadline = time.monotonic() + 60
    while not checkpoints.exists():  # killed once a batch is stored (not after a fixed sleep: load varies)
        assert proc.poll() is None, "replay exited before it stored a batch"
        assert time.monotonic() < deadline, "replay stored nothing in 60 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = len(fake.events(path="/2/httpapi"))
    assert first < 600
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "resuming after line" in r.stderr
    ids = [e["data"]["insert_id"] for e in fake.events(path="/2/httpapi")]
    assert len(ids) == 600 and len(set(ids)) == 600
