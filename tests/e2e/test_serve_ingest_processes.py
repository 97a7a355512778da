"""`amprelay serve --ingest-processes 2` as real processes: ingest answered by the ingest
processes on the relay's port, every other request forwarded to the main process (metrics merged,
the console's loopback rule kept, the forwarding headers not forgeable), nothing lost when an
ingest process is killed, and every process gone with the relay."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from amprelay.fakeamp import start_process
from amprelay.server.front import CLIENT_HEADER, SCHEME_HEADER, FromFront, forwarded_headers
from tests.e2e.test_serve_workers import metric
from tests.helpers.relay import (
    WRITE_KEY,
    children,
    free_port,
    serve_config,
    start_serve,
    stop_with_workers,
    wait_for,
)


def _batch(start: int, n: int) -> list[dict]:
    return [{"type": "track", "event": "Fronted", "userId": f"user-{i:05d}", "messageId": f"f-{i}"}
            for i in range(start, start + n)]


def test_ingest_processes_take_ingest_and_forward_the_rest(tmp_path):
    fake = start_process(port=0)
    port = free_port()
    config = serve_config(tmp_path / "amprelay.yaml", port=port, amplitude_url=fake.url,
                          api_key="fronts-api-key-0000000000000001", ingest_processes=2,
                          extra="console: {admin_token: front-token-0123456789}")
    proc = start_serve(config, port)
    try:
        fronts = wait_for(lambda: (lambda c: c if len(c) == 2 else None)(children(proc.pid)), timeout=20)
        sent = 0
        for _ in range(20):  # new connections: the kernel spreads them over both processes
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(WRITE_KEY, "")) as client:
                assert client.post("/v1/batch", json={"batch": _batch(sent, 10)}).status_code == 200
                sent += 10
        r = httpx.post(f"http://127.0.0.1:{port}/v1/track", auth=(WRITE_KEY, ""),
                       json={"event": "One", "userId": "user-track", "messageId": "f-track"})
        assert r.json() == {"success": True}
        sent += 1
        wait_for(lambda: len(fake.events(path="/2/httpapi")) == sent, timeout=20)
        # /metrics comes from the main process, with the ingest processes' counts added
        wait_for(lambda: metric(port, "amprelay_events_received_total") == sent, timeout=10)
        assert metric(port, "amprelay_units_delivered_total") == sent
        ready = httpx.get(f"http://127.0.0.1:{port}/ready").json()
        assert ready["ready"] is True and ready["checks"]["workers"] == {"ok": True}, ready
        # the console is the main process's, reached through an ingest process; a client on
        # loopback is let in, and cannot pretend to be another client
        login = httpx.get(f"http://127.0.0.1:{port}/console/login")
        assert login.status_code == 200 and "token" in login.text.lower()
        spoof = httpx.get(f"http://127.0.0.1:{port}/console/login", headers={CLIENT_HEADER.decode(): "203.0.113.9:1"})
        assert spoof.status_code == 200
        assert httpx.post(f"http://127.0.0.1:{port}/v1/nowhere", auth=(WRITE_KEY, ""), json={}).status_code == 404

        # an ingest process killed: restarted on its socket; what was answered 200 is delivered
        os.kill(fronts[0], signal.SIGKILL)
        wait_for(lambda: fronts[0] not in children(proc.pid) and len(children(proc.pid)) == 2, timeout=20)
        for _ in range(10):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(WRITE_KEY, "")) as client:
                assert client.post("/v1/batch", json={"batch": _batch(sent, 10)}).status_code == 200
                sent += 10
        wait_for(lambda: len(fake.events(path="/2/httpapi")) == sent, timeout=20)
        ids = [e["data"]["user_id"] for e in fake.events(path="/2/httpapi")]  # each message a user of its own
        assert len(set(ids)) == sent

        now = children(proc.pid)
        stop_with_workers(proc, now)
        assert not (tmp_path / "data" / "amprelay-main.sock").exists()
    finally:
        proc.kill()
        proc.wait()
        fake.stop()


def test_a_port_in_use_fails_serve_with_a_clear_error(tmp_path):
    import socket
    import subprocess
    import sys

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    config = serve_config(tmp_path / "amprelay.yaml", port=port, amplitude_url="http://127.0.0.1:9",
                          ingest_processes=2)
    try:
        r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "serve", "--config", str(config)],
                           capture_output=True, text=True, timeout=60)
    finally:
        busy.close()
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_the_forwarding_headers_are_the_ingest_process_s_own():
    scope = {"headers": [(b"host", b"relay"), (CLIENT_HEADER, b"203.0.113.9:1"), (SCHEME_HEADER, b"https"),
                         (b"connection", b"keep-alive")], "client": ("127.0.0.1", 5000), "scheme": "http"}
    assert forwarded_headers(scope) == [(b"host", b"relay"), (CLIENT_HEADER, b"127.0.0.1:5000"),
                                        (SCHEME_HEADER, b"http")]


@pytest.mark.parametrize(("sent", "client"), [
    ([(CLIENT_HEADER, b"::1:4000"), (SCHEME_HEADER, b"https")], ("::1", 4000)),
    ([], None),  # not from an ingest process: no client (the console's loopback rule refuses it)
    ([(CLIENT_HEADER, b"garbage")], None),
])
def test_the_main_process_takes_the_client_from_the_ingest_process(sent, client):
    import asyncio

    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    scope = {"type": "http", "headers": [(b"host", b"relay"), *sent], "client": None, "scheme": "http"}
    asyncio.run(FromFront(app)(scope, None, None))
    assert seen["client"] == client
    assert seen["headers"] == [(b"host", b"relay")]
    assert seen["scheme"] == ("https" if (SCHEME_HEADER, b"https") in sent else "http")
