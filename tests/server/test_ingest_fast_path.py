"""POST /v1/<endpoint> takes a shorter way through the app than Starlette's stack (amprelay.server.app.IngestApp):
it answers as the routed way did — JSON bodies, CORS headers for browsers, 404/405 for what is not
an ingest endpoint, 413 for an oversized chunked body, 500 when the relay raises — and delivers."""

from __future__ import annotations

import httpx

from tests.helpers.relay import WRITE_KEY, wait_for


def test_answers_and_cors(start_relay, fake):
    relay = start_relay()
    with httpx.Client(base_url=relay.url, auth=(WRITE_KEY, ""), timeout=10) as c:
        r = c.post("/v1/track", json={"event": "Fast", "userId": "user-0001"})
        assert (r.status_code, r.json()) == (200, {"success": True})
        assert r.headers["content-type"] == "application/json"
        assert "access-control-allow-origin" not in r.headers  # not a browser

        r = c.post("/v1/t", json={"event": "Short", "userId": "user-0001"}, headers={"Origin": "https://shop.example"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"

        r = c.options("/v1/batch", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "content-type"})
        assert r.status_code == 200 and "POST" in r.headers["access-control-allow-methods"]

        assert c.get("/v1/track").status_code == 405
        r = c.post("/v1/nothing", json={})
        assert (r.status_code, r.json()["code"]) == (404, "unknown_path")

        r = c.post("/v1/track", json={"event": "NoUser"})
        assert r.status_code == 400 and r.json()["code"] == "invalid_message"
        r = c.post("/v1/track", json={"event": "E", "userId": "u"}, auth=("wrong-key", ""))
        assert (r.status_code, r.json()["code"]) == (401, "invalid_write_key")

        def chunks(n: int):
            yield b'{"event": "Chunked", "userId": "user-0002", "properties": {"pad": "'
            for _ in range(n):
                yield b"x" * 1024
            yield b'"}}'

        r = c.post("/v1/track", content=chunks(4), headers={"Content-Type": "application/json"})
        assert r.status_code == 200
        r = c.post("/v1/track", content=chunks(64), headers={"Content-Type": "application/json"})
        assert (r.status_code, r.json()["code"]) == (413, "too_large")
    wait_for(lambda: {e["data"].get("event_type") for e in fake.events()} >= {"Fast", "Short", "Chunked"})


def test_an_error_in_the_relay_is_answered_500(start_relay, monkeypatch):
    relay = start_relay()

    async def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(relay.service.relay, "accept", broken)
    r = httpx.post(relay.url + "/v1/track", json={"event": "E", "userId": "u"}, auth=(WRITE_KEY, ""), timeout=10)
    assert (r.status_code, r.text) == (500, "Internal Server Error")
    assert httpx.get(relay.url + "/health", timeout=10).status_code == 200  # the server goes on
