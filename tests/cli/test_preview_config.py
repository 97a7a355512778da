"""`amprelay preview --config`: the configured subscriptions, the relay's compiled objects, the
exact requests (secrets masked), and nothing sent."""

from __future__ import annotations

import json

import httpx
import pytest

from amprelay.cli.main import main
from amprelay.config import parse_config
from amprelay.wiring import run_in_thread as run_relay
from tests.helpers.relay import wait_for

API_KEY = "preview-api-key-0000000000000001"
CONFIG = """\
data_dir: {data_dir}
sources:
  - name: web
    write_key: ${{PREVIEW_WRITE_KEY}}
  - name: backend
    write_key: other-key
destinations:
  - name: amplitude
    settings:
      apiKey: ${{PREVIEW_API_KEY}}
      secretKey: ${{PREVIEW_SECRET_KEY}}
    presets: true
    subscriptions:
      - name: Group Calls
        trigger: type = "group"
        action: groupIdentifyUser
        mapping:
          defaults: true
          group_type: company
          group_value: {{ "@path": "$.groupId" }}
      - name: Signups (off)
        trigger: event = "Signed Up"
        action: logEventV2
        enabled: false
  - name: backend-only
    settings: {{apiKey: other-api-key, secretKey: other-secret}}
    sources: [backend]
    subscriptions:
      - name: Everything
        trigger: type = "track"
        action: logEventV2
server: {{port: 0}}
delivery: {{amplitude_url: "{amplitude_url}", linger_ms: 5}}
"""
ENV = {"PREVIEW_WRITE_KEY": "wk-preview", "PREVIEW_API_KEY": API_KEY, "PREVIEW_SECRET_KEY": "s"}
EVENTS = [
    {"type": "track", "event": "Signed Up", "userId": "user-1", "messageId": "msg-track-1",
     "timestamp": "2026-01-02T03:04:05.678Z", "properties": {"plan": "pro"}},
    {"type": "group", "groupId": "acme", "userId": "user-1", "messageId": "msg-group-1",
     "timestamp": "2026-01-02T03:04:06.000Z", "traits": {"industry": "tools"}},
]


@pytest.fixture
def config_file(tmp_path, fake):
    path = tmp_path / "amprelay.yaml"
    path.write_text(CONFIG.format(data_dir=tmp_path / "data", amplitude_url=fake.url))
    return path


def preview_json(capsys, *args: str) -> list[dict]:
    code = main(["preview", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return [json.loads(line) for line in out.splitlines()]


def test_preview_fires_the_configured_subscriptions_without_any_secret(config_file, tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in EVENTS))  # JSON lines
    track, group = preview_json(capsys, "--config", str(config_file), "--json", "--source", "web", str(events))
    [amp, backend] = track["destinations"]
    assert backend == {"name": "backend-only", "skipped": "it takes events only from backend", "fired": [],
                       "not_fired": []}
    assert [s["name"] for s in amp["fired"]] == ["Track Calls"]
    assert "Signups (off)" in amp["not_fired"] and "Group Calls" in amp["not_fired"]
    [req] = amp["fired"][0]["requests"]
    assert req["url"] == "https://api2.amplitude.com/2/httpapi"
    assert req["body"]["api_key"] == "********"
    assert req["body"]["events"][0]["event_type"] == "Signed Up"
    assert [s["name"] for s in group["destinations"][0]["fired"]] == ["Group Calls"]
    assert [r["url"].rsplit("/", 1)[1] for r in group["destinations"][0]["fired"][0]["requests"]] == [
        "identify", "groupidentify"]
    # --destination keeps one; the human-readable form says what fired and masks the key
    assert main(["preview", "-c", str(config_file), "-d", "amplitude", str(events)]) == 0
    out = capsys.readouterr().out
    assert "fires Group Calls (groupIdentifyUser)" in out and "backend-only" not in out
    assert "not fired:" in out and "Signups (off) [disabled]" in out


def test_preview_shows_exactly_what_serve_sends(config_file, fake, tmp_path, capsys, monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    events = tmp_path / "events.json"
    events.write_text(json.dumps({"batch": EVENTS}))
    previewed = preview_json(capsys, "--config", str(config_file), "--json", str(events))
    assert API_KEY not in json.dumps(previewed)  # set, and still masked
    expected_events = [e for r in previewed[0]["destinations"][0]["fired"][0]["requests"] for e in r["body"]["events"]]
    expected_idents = {r["url"].rsplit("/", 1)[1]: r["body"]["identification"]
                       for r in previewed[1]["destinations"][0]["fired"][0]["requests"]}
    assert fake.events() == []  # preview sent nothing

    relay = run_relay(parse_config(config_file.read_text(), str(config_file), ENV).config)
    try:
        r = httpx.post(f"{relay.url}/v1/batch", json={"batch": EVENTS}, auth=("wk-preview", ""), timeout=10)
        assert r.status_code == 200
        wait_for(lambda: len(fake.events()) >= 3)
    finally:
        relay.stop()
    assert [rec["data"] for rec in fake.events(path="/2/httpapi")] == expected_events
    assert [rec["data"] for rec in fake.events(path="/identify")] == expected_idents["identify"]
    assert [rec["data"] for rec in fake.events(path="/groupidentify")] == expected_idents["groupidentify"]


@pytest.mark.parametrize("args, message", [
    (["--action", "logEvent"], "--config runs the configured subscriptions; --action"),
    (["-d", "nowhere"], "has no destination 'nowhere'; it has: amplitude, backend-only"),
    (["--source", "mobile"], "has no source 'mobile'"),
])
def test_preview_config_mistakes_are_one_line(config_file, tmp_path, capsys, args, message):
    events = tmp_path / "e.json"
    events.write_text(json.dumps(EVENTS[0]))
    assert main(["preview", "--config", str(config_file), str(events), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_preview_reports_invalid_events_and_exits_1(config_file, tmp_path, capsys):
    events = tmp_path / "e.json"
    events.write_text(json.dumps([{"type": "track", "userId": "u"}]))  # no event name
    assert main(["preview", "-c", str(config_file), "--json", str(events)]) == 1
    [answer] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert answer["problems"] and answer["destinations"] == []


def test_preview_reads_events_on_stdin(config_file):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "preview", "-c", str(config_file), "--json", "-"],
                       input=json.dumps(EVENTS[1]), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    [answer] = [json.loads(line) for line in r.stdout.splitlines()]
    assert [s["name"] for s in answer["destinations"][0]["fired"]] == ["Group Calls"]
