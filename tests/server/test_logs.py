"""Log formats (JSON and text) and the access log: method, path, status, bytes, duration and
source on every request; never a key."""

from __future__ import annotations

import logging
import subprocess

import httpx
import orjson
import pytest

from amprelay.logs import JSONFormatter, TextFormatter, formatter_for
from amprelay.masking import MASK
from amprelay.server.access import masked_path
from tests.helpers.relay import AMPRELAY, WRITE_KEY, free_port, healthy, relay_config, stop_process, wait_for


def record(msg: str = "config reloaded", **fields) -> logging.LogRecord:
    rec = logging.LogRecord("amprelay.reload", logging.INFO, __file__, 1, msg, None, None)
    rec.fields = fields
    return rec


def test_json_and_text_formats():
    line = JSONFormatter().format(record(generation=2, file="a b.yaml"))
    obj = orjson.loads(line)
    assert obj["level"] == "info" and obj["logger"] == "amprelay.reload" and obj["msg"] == "config reloaded"
    assert obj["generation"] == 2 and obj["file"] == "a b.yaml" and obj["ts"].endswith("Z")
    text = TextFormatter().format(record(generation=2, file="a b.yaml", errors=["x"], plain="ok"))
    assert text.endswith(' INFO amprelay.reload: config reloaded generation=2 file="a b.yaml" errors=["x"] plain=ok')
    assert TextFormatter().format(record()).endswith("INFO amprelay.reload: config reloaded")
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        formatter_for("xml")


def test_paths_lose_their_keys():
    keys = {"wk-secret"}
    assert masked_path("/v1/batch", keys.__contains__) == "/v1/batch"
    assert masked_path("/v1/projects/wk-secret/settings", keys.__contains__) == f"/v1/projects/{MASK}/settings"
    assert masked_path("/v1/projects/anything/settings", keys.__contains__) == f"/v1/projects/{MASK}/settings"
    assert masked_path("/x/wk-secret", keys.__contains__) == f"/x/{MASK}"


def test_access_log_lines(tmp_path, fake, start_relay, caplog):
    cfg = relay_config(tmp_path / "data", fake.url)
    cfg.logging.access_log = True
    relay = start_relay(config=cfg)
    caplog.set_level(logging.INFO, logger="amprelay.access")
    r = httpx.post(relay.url + "/v1/track?writeKey=" + WRITE_KEY,
                   json={"event": "Seen", "userId": "user-0001"}, auth=(WRITE_KEY, ""))
    assert r.status_code == 200
    httpx.post(relay.url + "/v1/batch", json={"writeKey": WRITE_KEY, "batch": [{"type": "track", "event": "E",
                                                                                 "userId": "user-0002"}]})
    httpx.post(relay.url + "/v1/track", json={"event": "Seen", "userId": "u"}, auth=("wrong-key", ""))
    httpx.get(relay.url + "/health")
    wait_for(lambda: len([x for x in caplog.records if x.name == "amprelay.access"]) >= 4)
    lines = [x for x in caplog.records if x.name == "amprelay.access"]
    by_path = [(x.fields["method"], x.fields["path"], x.fields["status"], x.fields["source"]) for x in lines]
    assert by_path[:4] == [("POST", "/v1/track", 200, "web"), ("POST", "/v1/batch", 200, "web"),
                           ("POST", "/v1/track", 401, None), ("GET", "/health", 200, None)]
    assert lines[0].fields["bytes"] == len(r.content) and lines[0].fields["duration_ms"] >= 0
    for rec in lines:
        for text in (JSONFormatter().format(rec), TextFormatter().format(rec)):
            assert WRITE_KEY not in text and "wrong-key" not in text and "Basic" not in text
            assert "authorization" not in text.lower()


def test_serve_text_logs_with_an_access_log(tmp_path, fake):
    port = free_port()
    config = tmp_path / "amprelay.yaml"
    config.write_text(f"""
data_dir: {tmp_path / 'data'}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations: [{{name: amplitude, settings: {{apiKey: k-00000000000000000001, secretKey: s}}, presets: true}}]
server: {{port: {port}}}
delivery: {{amplitude_url: "{fake.url}"}}
logging: {{format: json, access_log: false}}
""")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config), "--log-format", "text", "--access-log"],
                            stdout=log, stderr=log)
    try:
        wait_for(lambda: healthy(port), timeout=20)
        httpx.post(f"http://127.0.0.1:{port}/v1/track", json={"event": "E", "userId": "user-0001"},
                   auth=(WRITE_KEY, ""))
        wait_for(lambda: "POST /v1/track 200" in (tmp_path / "serve.log").read_text(), timeout=10)
    finally:
        stop_process(proc)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    access = next(line for line in text.splitlines() if "POST /v1/track 200" in line)
    assert " INFO amprelay.access: POST /v1/track 200 method=POST path=/v1/track status=200 bytes=" in access
    assert "source=web" in access and "duration_ms=" in access
    assert WRITE_KEY not in text
    assert not any(line.startswith("{") for line in text.splitlines())  # text, not JSON
