"""`dlq` and `replay --dry-run` ask only for what they use: with the README's amprelay.yaml in
the working directory and none of its secrets set, they find the data dir and work."""

from __future__ import annotations

import json

import pytest

from amprelay.cli.main import main

README_CONFIG = """\
data_dir: ./data
sources:
  - name: website
    write_key: ${AMPRELAY_WRITE_KEY}
destinations:
  - name: amplitude
    settings:
      apiKey: ${AMPLITUDE_API_KEY}
      secretKey: ${AMPLITUDE_SECRET_KEY}
      endpoint: north_america          # or europe
    presets: true                      # Track/Screen/Page/Identify/Order Completed calls
queue:
  backend: sqlite                      # or postgres (dsn: ...)
"""
SECRETS = {"AMPRELAY_WRITE_KEY": "wk", "AMPLITUDE_API_KEY": "api-key-0001", "AMPLITUDE_SECRET_KEY": "s"}
LONG_ID = "ajs-next-1733075512345-9f8e7d6c-5b4a-3210-fedc-ba9876543210"


@pytest.fixture
def checkout(tmp_path, monkeypatch, capsys):
    """The README's config in the working directory, two dead letters in ./data (queued by a
    replay while the secrets were set), and then no secret in the environment."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "amprelay.yaml").write_text(README_CONFIG)
    archive = tmp_path / "archive.jsonl"
    archive.write_text("\n".join(json.dumps(m) for m in [
        {"type": "track", "userId": "user-1", "messageId": LONG_ID},  # no event name: invalid
        {"type": "track", "userId": "user-2", "messageId": "short-2"},
        {"type": "track", "event": "Fine", "userId": "user-3", "messageId": "ok-3"},
    ]) + "\n")
    with monkeypatch.context() as m:
        for k, v in SECRETS.items():
            m.setenv(k, v)
        assert main(["replay", str(archive), "--no-wait"]) == 0
    capsys.readouterr()
    return tmp_path


def dead(capsys, *args: str) -> list[dict]:
    assert main(["dlq", "list", "--json", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_dlq_needs_no_secret_and_prints_full_message_ids(checkout, capsys):
    assert main(["dlq", "list"]) == 0  # reads ./amprelay.yaml for its data dir only
    out = capsys.readouterr().out
    assert LONG_ID in out and "(2 dead letters)" in out
    # the id as printed is what --message-id takes
    printed = next(w for w in out.split() if w.startswith("ajs-next-"))
    [row] = dead(capsys, "--message-id", printed)
    assert row["message_id"] == LONG_ID
    # --config and --data-dir find the same store, with or without the config
    assert len(dead(capsys, "--config", "amprelay.yaml")) == 2
    assert len(dead(capsys, "--data-dir", "data")) == 2


def test_retry_and_purge_take_ids_like_show(checkout, capsys):
    first, second = (r["id"] for r in dead(capsys))
    assert main(["dlq", "show", str(first)]) == 0
    assert LONG_ID in capsys.readouterr().out
    assert main(["dlq", "retry", str(first), "--dry-run"]) == 0
    assert "1 rejected message(s) never became a request and stay" in capsys.readouterr().out
    assert main(["dlq", "purge", str(first)]) == 0
    assert "deleted 1 dead letter(s)" in capsys.readouterr().out
    assert [r["id"] for r in dead(capsys)] == [second]


def test_replay_dry_run_needs_no_secret(checkout, capsys):
    assert main(["replay", "archive.jsonl", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "lines 3, messages 1" in err and "invalid 2" in err
    assert "Track Calls" in err


def test_replay_progress_shows_bytes_with_a_bytes_rate(checkout, capsys):
    assert main(["replay", "archive.jsonl", "--dry-run"]) == 0
    err = capsys.readouterr().err
    size = (checkout / "archive.jsonl").stat().st_size
    assert f"{size}/{size} bytes" in err and "1 messages" in err and "msg/s" not in err


def test_replay_without_dry_run_still_needs_the_secrets(checkout, capsys):
    assert main(["replay", "archive.jsonl", "--no-wait"]) == 1
    assert "environment variable AMPLITUDE_API_KEY is not set" in capsys.readouterr().err
