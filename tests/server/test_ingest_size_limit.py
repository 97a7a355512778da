"""The ingest app driven in-process with a stand-in relay.

The per-message size limit of a batch is on the item as sent, though ingest measures the
normalised message it serialises anyway and the item only near the limit: the same items are
taken, refused as too large or as invalid as when every item is measured first
(``expand_batch_item``), and the inbox row is exactly the accepted messages' JSON array. The fast
way in adds the CORS headers Starlette's middleware would."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import orjson
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from amprelay.config import SourceConfig
from amprelay.delivery.metrics import Metrics
from amprelay.js.json import dumps, loads
from amprelay.server.app import create_app
from amprelay.server.ingest import Limits
from amprelay.spec import validate_message

from .helpers import expand_batch_item

LIMIT = 400


class _Relay:
    def __init__(self) -> None:
        self.metrics = Metrics()
        self.pressure = None
        self.calls: list[tuple[list[dict[str, Any]], list[dict[str, Any]], bytes | None]] = []
        self.source = SourceConfig(name="s", write_key="k")

    def source_for_key(self, key: str) -> SourceConfig | None:
        return self.source if key == "k" else None

    async def accept(self, source, messages, rejected, payload=None) -> None:
        self.calls.append((messages, rejected, payload))


def _post(app, body: bytes) -> tuple[int, Any]:
    async def run() -> tuple[int, Any]:
        sent = False
        out: dict[str, Any] = {}

        async def receive():
            nonlocal sent
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
            else:
                out["body"] = message.get("body", b"")

        scope = {"type": "http", "method": "POST", "path": "/v1/batch", "headers": [], "query_string": b""}
        await app(scope, receive, send)
        return out["status"], orjson.loads(out["body"])

    return asyncio.run(run())


_value = st.one_of(st.none(), st.integers(-5, 10**6), st.text(max_size=120), st.just("2024-05-01T10:00:00.123Z"),
                   st.dictionaries(st.text(max_size=5), st.text(max_size=40), max_size=3))
_item = st.fixed_dictionaries(
    {"type": st.just("track"), "event": st.text(min_size=1, max_size=200), "userId": st.just("u")},
    optional={"messageId": _value, "receivedAt": _value, "timestamp": _value, "originalTimestamp": _value,
              "sentAt": _value, "properties": st.dictionaries(st.text(max_size=8), st.text(max_size=60), max_size=4),
              "context": st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=3)})


@settings(max_examples=150, deadline=None)
@given(st.lists(_item, min_size=1, max_size=6), st.dictionaries(st.sampled_from(["context", "sentAt"]),
                                                                 st.just({"ip": "1.2.3.4"}), max_size=2))
@example([{"type": "track", "event": "e" * 330, "userId": "u", "receivedAt": "r" * 40}], {})  # over, shrinks below
@example([{"type": "track", "event": "e" * 300, "userId": "u", "messageId": 7}], {})  # under, grows above
def test_the_size_limit_is_on_the_item_as_sent(items, shared):
    if "sentAt" in shared:
        shared["sentAt"] = "2024-05-01T10:00:01.000Z"
    body = orjson.dumps({"batch": items, "writeKey": "k", **shared})
    relay = _Relay()
    app = create_app(relay, limits=Limits(max_message_bytes=LIMIT))
    status, answer = _post(app, body)
    assert status == 200

    expected_taken, expected_codes = [], []
    context = {k: v for k, v in shared.items()}
    for item in copy.deepcopy(items):
        msg, rejection = expand_batch_item(item, context, LIMIT)
        if rejection is None and validate_message(msg):
            expected_codes.append("invalid_message")
        elif rejection is not None:
            expected_codes.append(rejection.code)
        else:
            expected_taken.append(msg["event"])
    (messages, rejected, payload), = relay.calls
    assert [m["event"] for m in messages] == expected_taken
    codes: dict[str, int] = {}
    for code in expected_codes:
        codes[code] = codes.get(code, 0) + 1
    assert answer.get("rejected_reasons", {}) == codes
    for code in codes:
        event(code)
    sizes = [len(dumps(i)) for i in items]
    event("an item within 150 bytes of the limit" if any(abs(n - LIMIT) < 150 for n in sizes) else "all far from it")
    assert payload == (dumps(messages) if messages else None)
    if payload is not None:
        assert loads(payload) == loads(dumps(messages))


def _post_headers(app, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, list]:
    async def run() -> tuple[int, list]:
        out: dict[str, Any] = {}

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                out["status"], out["headers"] = message["status"], message["headers"]

        await app({"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b""},
                  receive, send)
        return out["status"], out["headers"]

    return asyncio.run(run())


def test_the_fast_way_in_adds_the_headers_starlettes_cors_middleware_adds():
    """What CORSMiddleware appends to a simple response: Access-Control-Allow-Origin for an
    allowed Origin (``*`` when every origin is), and always ``Vary: Origin``."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.responses import Response

    async def plain(scope, receive, send):
        await Response(b"", status_code=200)(scope, receive, send)

    body = orjson.dumps({"event": "E", "userId": "u", "writeKey": "k"})
    for origins in (None, ["https://shop.example"]):
        app = create_app(_Relay(), cors_origins=origins)
        reference = CORSMiddleware(plain, allow_origins=origins or ["*"], allow_methods=["POST"])
        for origin in (None, b"https://shop.example", b"https://other.example"):
            headers = [(b"origin", origin)] if origin else []
            status, ours = _post_headers(app, "/v1/track", body, headers)
            _, theirs = _post_headers(reference, "/v1/track", b"", headers)
            cors = [(n, v) for n, v in ours if n.startswith(b"access-control") or n == b"vary"]
            assert status == 200 and cors == [(n, v) for n, v in theirs if n not in (b"content-length",)]
