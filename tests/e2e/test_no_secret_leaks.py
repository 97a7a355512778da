"""No secret anywhere it should not be (issue 14, "one masking function at every exit").

One `amprelay serve` process with known keys (two destinations' API keys, their secret keys, the
console's admin token, the source's write key) and the local Amplitude, driven through every
error path: Amplitude rejecting an API key and echoing it back, a 400 naming invalid events, a
413 that splits a batch, a 429, 503s, items rejected at ingest (oversized, invalid, with the
write key in the body), a request over the size limit, a mapping error, a wrong write key. Then
none of the keys may appear in a log line, a console page, /metrics, `amprelay dlq` or
`check-auth` output, or (for what is never stored) any file under the data dir.
"""

from __future__ import annotations

import json
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from amprelay.fakeamp import run_in_thread as run_fake
from tests.helpers.relay import AMPRELAY, free_port, wait_for

GOOD_API_KEY = "5f3c9b7e2a1d4c6b8e0f1a2b3c4d5e6f"
HELD_API_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"  # Amplitude answers "Invalid API key: <this>"
SECRET_KEY = "sk-leaktest-7d1e9c0b2a4f"
HELD_SECRET_KEY = "sk-leaktest-held-5e4d3c2b"
ADMIN_TOKEN = "admin-leaktest-9f8e7d6c5b4a3210"
WRITE_KEY = "wk-leaktest-3a2b1c0d9e8f"
SECRETS = {"good API key": GOOD_API_KEY, "held API key": HELD_API_KEY, "secret key": SECRET_KEY,
           "held secret key": HELD_SECRET_KEY, "admin token": ADMIN_TOKEN, "write key": WRITE_KEY}
NEVER_STORED = ("secret key", "held secret key", "admin token")


@dataclass
class Run:
    data_dir: Path
    log: str = ""
    pages: dict[str, str] = field(default_factory=dict)
    metrics: str = ""
    cli: dict[str, str] = field(default_factory=dict)
    fake_stats: dict = field(default_factory=dict)
    dead: list[dict] = field(default_factory=list)


def _leaks(text: str, names=tuple(SECRETS)) -> list[str]:
    return [name for name in names if SECRETS[name] in text]


def _cli(*args: str, cwd: Path) -> str:
    r = subprocess.run([*AMPRELAY, *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                       env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    return f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"


def _wait_serving(url: str, proc: subprocess.Popen) -> None:
    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError("amprelay serve exited")
        try:
            return httpx.get(url + "/health", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=30)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    tmp = tmp_path_factory.mktemp("leaks")
    fake = run_fake(port=0, invalid_api_keys=[HELD_API_KEY])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = tmp / "amprelay.yaml"
    config.write_text(f"""
data_dir: {tmp / 'data'}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations:
  - name: good
    settings: {{apiKey: {GOOD_API_KEY}, secretKey: {SECRET_KEY}}}
    presets: true
    subscriptions:
      - name: Broken Mapping
        trigger: event = "Broken"
        action: logEventV2
        mapping: {{event_type: {{"@path": "$.properties.missing"}}}}
  - name: held
    settings: {{apiKey: {HELD_API_KEY}, secretKey: {HELD_SECRET_KEY}}}
    subscriptions:
      - name: Held Calls
        trigger: event = "Held"
        action: logEventV2
        mapping: {{defaults: true}}
console: {{admin_token: {ADMIN_TOKEN}}}
server: {{port: {port}}}
delivery: {{amplitude_url: "{fake.url}", linger_ms: 20, failure_warning_seconds: 0.5}}
""")
    log_path = tmp / "serve.log"
    result = Run(tmp / "data")
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config), "--log-level", "debug"],
                                stdout=log_file, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            _wait_serving(url, proc)
            _provoke(url, fake)
            wait_for(lambda: b"rejects the API key" in log_path.read_bytes())
            wait_for(lambda: b"deliveries have failed" in log_path.read_bytes())
            wait_for(lambda: len(_dead(tmp, config)) >= 3, timeout=30)
            result.dead = _dead(tmp, config)
            result.pages = _console_pages(url, result.dead)
            result.metrics = httpx.get(url + "/metrics").text
            result.pages["/ready"] = httpx.get(url + "/ready").text
            ids = [str(d["id"]) for d in result.dead]
            result.cli = {
                "dlq list --json": _cli("dlq", "list", "--json", "--config", str(config), cwd=tmp),
                "dlq list": _cli("dlq", "list", "--config", str(config), cwd=tmp),
                "dlq show": _cli("dlq", "show", *ids, "--config", str(config), cwd=tmp),
                "dlq show --json": _cli("dlq", "show", "--json", *ids, "--config", str(config), cwd=tmp),
                "dlq list (no config)": _cli("dlq", "list", "--data-dir", str(tmp / "data"), cwd=tmp),
            }
            settings = tmp / "held-settings.json"
            settings.write_text(json.dumps({"apiKey": HELD_API_KEY, "secretKey": HELD_SECRET_KEY}))
            result.cli["check-auth"] = _cli("check-auth", "--settings", str(settings), "--amplitude-url", fake.url,
                                            cwd=tmp)
            event = tmp / "event.json"
            event.write_text(json.dumps({"type": "identify", "userId": "user-preview-1", "writeKey": WRITE_KEY,
                                         "traits": {"note": f"Invalid API key: {HELD_API_KEY}"}}))
            result.cli["preview"] = _cli("preview", "--settings", str(settings), str(event), cwd=tmp)
            result.fake_stats = fake.stats()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            fake.stop()
    result.log = log_path.read_text(errors="replace")
    return result


def _dead(tmp: Path, config: Path) -> list[dict]:
    out = subprocess.run([*AMPRELAY, "dlq", "list", "--json", "--limit", "0", "--config", str(config)],
                         capture_output=True, text=True, timeout=60, cwd=tmp)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _provoke(url: str, fake) -> None:
    auth = (WRITE_KEY, "")
    client = httpx.Client(base_url=url, auth=auth, timeout=10)
    # Amplitude rejects the held destination's key and echoes it back
    assert client.post("/v1/track", json={"event": "Held", "userId": "user-held-1"}).status_code == 200
    # a 400 naming an invalid event (user_id shorter than Amplitude's minimum)
    assert client.post("/v1/track", json={"event": "Short Id", "userId": "abc"}).status_code == 200
    # a mapping error
    assert client.post("/v1/track", json={"event": "Broken", "userId": "user-broken-1"}).status_code == 200
    wait_for(lambda: fake.stats()["requests"].get("/2/httpapi", {}).get("400", 0) >= 1)
    # a 413: the four events travel as one request over the stand-in's lowered body limit, then split
    fake.configure(max_body_bytes=30_000)
    big = [{"type": "track", "event": "Big", "userId": f"user-big-{i}", "properties": {"pad": "x" * 9_000}}
           for i in range(4)]
    assert client.post("/v1/batch", json={"batch": big}).status_code == 200
    wait_for(lambda: fake.stats()["requests"].get("/2/httpapi", {}).get("413", 0) >= 1)
    wait_for(lambda: sum(1 for e in fake.events() if e["data"]["event_type"] == "Big") >= 4)
    fake.configure(max_body_bytes=None)
    # 503s, then a 429
    fake.configure(fail_next=2, fail_status=503)
    assert client.post("/v1/track", json={"event": "Unlucky", "userId": "user-503-1"}).status_code == 200
    wait_for(lambda: fake.stats()["requests"].get("/2/httpapi", {}).get("503", 0) >= 2)
    fake.configure(fail_next=1, fail_status=429)
    assert client.post("/v1/track", json={"event": "Throttled", "userId": "user-429-1"}).status_code == 200
    wait_for(lambda: fake.stats()["requests"].get("/2/httpapi", {}).get("429", 0) >= 1)
    # items rejected at ingest, the write key in the body (analytics.js puts it in every event)
    batch = {"writeKey": WRITE_KEY, "batch": [
        {"type": "track", "event": "Oversized", "userId": "user-big-x", "writeKey": WRITE_KEY,
         "properties": {"pad": "y" * 40_000}},
        {"type": "track", "event": 5, "userId": "user-invalid", "writeKey": WRITE_KEY},
        {"type": "track", "event": "Fine", "userId": "user-fine-1", "writeKey": WRITE_KEY},
    ]}
    r = httpx.post(url + "/v1/batch", json=batch, timeout=10)
    assert r.status_code == 200 and r.json().get("rejected"), r.text
    assert not _leaks(r.text)
    # a whole request over the size limit, a wrong write key, a malformed body
    too_big = client.post("/v1/track", json={"event": "Huge", "userId": "u-huge", "writeKey": WRITE_KEY,
                                             "properties": {"pad": "z" * 40_000}})
    assert too_big.status_code == 413 and not _leaks(too_big.text)
    wrong = httpx.post(url + "/v1/track", json={"event": "x", "userId": "u"}, auth=(WRITE_KEY + "-wrong", ""))
    assert wrong.status_code == 401 and not _leaks(wrong.text)
    bad = client.post("/v1/track", content=b'{"event": ', headers={"content-type": "application/json"})
    assert bad.status_code == 400 and not _leaks(bad.text)
    wait_for(lambda: any(e["data"]["event_type"] == "Fine" for e in fake.events()))
    client.close()


def _console_pages(url: str, dead: list[dict]) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    pages = {}
    paths = ["/console", "/console/overview/panel", "/console/subscriptions", "/console/live", "/console/live/rows",
             "/console/dead-letters", "/console/tester", "/console/login"]
    paths += [f"/console/dead-letters/{d['id']}" for d in dead]
    live = httpx.get(url + "/console/live", headers=headers).text
    paths += [f"/console/tester?message_id={d['message_id']}" for d in dead if d["message_id"]]
    for path in paths:
        r = httpx.get(url + path, headers=headers)
        assert r.status_code == 200, (path, r.status_code)
        pages[path] = r.text
    assert "Fine" in live
    return pages


def test_every_error_path_was_provoked(run):
    reasons = " | ".join(d["reason"] for d in run.dead)
    assert "invalid id length" in reasons  # the 400 naming an event
    assert "Broken Mapping" in reasons  # the mapping error
    assert any(d["destination"] == "source:web" for d in run.dead)  # items rejected at ingest
    assert "Invalid API key: ********" in run.log  # Amplitude echoed the key; the log shows it masked
    assert "splitting" in run.log  # the 413
    statuses = run.fake_stats["requests"]["/2/httpapi"]
    assert {"200", "400", "413", "429", "503"} <= set(statuses), statuses
    assert "FAILED" in run.cli["check-auth"]
    assert "/identify" in run.cli["preview"] and "exit 0" in run.cli["preview"]


def test_no_key_in_any_log_line(run):
    lines = run.log.splitlines()
    assert len(lines) > 10
    leaking = [(line, _leaks(line)) for line in lines if _leaks(line)]
    assert leaking == []


def test_no_key_in_any_console_page(run):
    assert any("Invalid API key" in p for p in run.pages.values())  # the overview's "last errors"
    assert {path: _leaks(text) for path, text in run.pages.items() if _leaks(text)} == {}


def test_no_key_in_metrics(run):
    assert "amprelay_amplitude_requests" in run.metrics
    assert _leaks(run.metrics) == []


def test_no_key_in_cli_output(run):
    assert "Invalid API key" not in run.cli["dlq list"] or "********" in run.cli["dlq list"]
    assert {cmd: _leaks(out) for cmd, out in run.cli.items() if _leaks(out)} == {}


def _data_files(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def test_secret_keys_the_admin_token_and_amplitudes_echo_are_never_stored(run):
    files = _data_files(run.data_dir)
    assert any(name.endswith(".sqlite3") for name in files)
    found = {name: [s for s in NEVER_STORED if SECRETS[s].encode() in data] for name, data in files.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}
    # the held units' retry reason and the dead letters' reasons keep Amplitude's answer, masked
    echo = f"Invalid API key: {HELD_API_KEY}".encode()
    assert [name for name, data in files.items() if echo in data] == []
    assert any(b"Invalid API key: ********" in data for data in files.values())


def test_no_api_key_or_write_key_at_rest(run):
    files = _data_files(run.data_dir)
    found = {name: [s for s in SECRETS if SECRETS[s].encode() in data] for name, data in files.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}
