"""The relay under hostile or impossible conditions: a full store, slow and truncated bodies."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from tests.helpers.relay import WRITE_KEY, relay_config, wait_for


def test_store_over_its_limit_answers_503_with_retry_after(tmp_path, fake, start_relay):
    cfg = relay_config(tmp_path / "data", fake.url)
    cfg.queue.max_bytes = 1  # any store is over this
    relay = start_relay(config=cfg)
    r = httpx.post(relay.url + "/v1/track", json={"event": "x", "userId": "user-1"}, auth=(WRITE_KEY, ""))
    assert r.status_code == 503
    assert int(r.headers["retry-after"]) > 0
    assert "limit" in r.json()["message"]
    assert httpx.get(relay.url + "/ready").status_code == 503
    assert httpx.get(relay.url + "/health").status_code == 200


def _raw(url: str) -> tuple[str, int]:
    host, port = url.split("://", 1)[1].split(":")
    return host, int(port)


def test_truncated_and_slow_bodies_do_not_hurt_the_server(fake, start_relay):
    relay = start_relay()
    host, port = _raw(relay.url)
    # a body shorter than its Content-Length, then the client goes away
    with socket.create_connection((host, port)) as s:
        s.sendall(b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500\r\nAuthorization: Basic d2stZTJlLTAwMDE6\r\n\r\n{\"event\": \"trunc")
    # a slow client: the body arrives in pieces over a second
    with socket.create_connection((host, port)) as s:
        body = b'{"event": "Slow Body", "userId": "user-slow1"}'
        s.sendall(b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n".encode()
                  + b"Authorization: Basic d2stZTJlLTAwMDE6\r\nConnection: close\r\n\r\n")
        for i in range(0, len(body), 8):
            s.sendall(body[i:i + 8])
            time.sleep(0.15)
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200")
    ok = httpx.post(relay.url + "/v1/track", json={"event": "After", "userId": "user-after"}, auth=(WRITE_KEY, ""))
    assert ok.status_code == 200
    wait_for(lambda: {"Slow Body", "After"} <= {e["data"]["event_type"] for e in fake.events()})
    assert "trunc" not in str([e["data"]["event_type"] for e in fake.events()])


def test_wrong_types_are_a_clear_400():
    from amprelay.server.ingest import parse_request
    from amprelay.spec import validate_message

    parsed = parse_request("track", b'{"event": 5, "userId": {"a": 1}, "properties": [], "timestamp": 7}', None, 4096)
    problems = validate_message(parsed.messages[0])
    assert any("'event' must be a string" in p for p in problems)
    assert any("'properties' must be an object" in p for p in problems)
    assert any("'timestamp'" in p for p in problems)


def test_demo_command_runs_end_to_end():
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "demo"], capture_output=True, text=True,
                       timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr + r.stdout
    out = r.stdout
    assert "Amplitude received" in out
    for what in ("/2/httpapi", "/identify", "/groupidentify", "/usermap", "Viewed Home", "Order Completed",
                 "Product Purchased"):
        assert what in out, what
    assert "dead letters 0" in out
