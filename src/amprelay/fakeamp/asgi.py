"""The stand-in's ASGI plumbing: answers, headers, basic auth, bodies, form parameters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from amprelay.errors import AmprelayError
from amprelay.js.json import dumps as json_dumps
from amprelay.js.json import loads as json_loads

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"


class Answer:
    __slots__ = ("status", "body", "content_type")

    def __init__(self, status: int, body: bytes, content_type: bytes = JSON) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type


def json_answer(status: int, obj: Any) -> Answer:
    return Answer(status, json_dumps(obj), JSON)


def text_answer(status: int, text: str) -> Answer:
    return Answer(status, text.encode(), TEXT)


def header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return v
    return None


def basic_auth(scope: Scope) -> tuple[str, str] | None:
    raw = header(scope, b"authorization")
    if not raw or not raw[:6].lower() == b"basic ":
        return None
    try:
        decoded = base64.b64decode(raw[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


def decode_form_value(raw: str | None) -> Any:
    """A form field holding JSON (identification, mapping, options); the raw string if not JSON."""
    if raw is None:
        return None
    try:
        return json_loads(raw)
    except ValueError:
        return raw


class Drop(AmprelayError):
    """Close the connection without answering (the stand-in's simulated fault)."""

    def __init__(self) -> None:
        super().__init__("the connection is closed without an answer")


def form_params(scope: Scope, body: bytes) -> dict[str, str] | None:
    """Query-string parameters overlaid by url-encoded (or JSON object) body fields."""
    params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    if body:
        ctype = (header(scope, b"content-type") or b"").lower()
        if b"json" in ctype:
            try:
                decoded = json_loads(body)
            except ValueError:
                return None
            if not isinstance(decoded, dict):
                return None
            for k, v in decoded.items():
                params[k] = v if isinstance(v, str) else json_dumps(v).decode()
        elif b"multipart/" in ctype:
            return None
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return None
            params.update(parse_qsl(text, keep_blank_values=True))
    return params


async def read_body(receive: Receive, limit: int | None) -> bytes | None:
    """The whole request body, or ``None`` if it is over ``limit`` (the rest is still drained, so
    the client gets to read the 413)."""
    chunks: list[bytes] = []
    size = 0
    too_large = False
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Drop
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            too_large = True
            chunks = []
        elif not too_large and chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if too_large:
        return None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def drain(receive: Receive) -> None:
    try:
        await read_body(receive, 0)
    except Drop:
        pass


async def respond(send: Send, answer: Answer) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type),
                (b"content-length", str(len(answer.body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})


def close_connection(send: Send) -> None:
    """Close the TCP connection without an HTTP answer (uvicorn: the protocol cycle behind ``send``)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: the server does not expose its transport")
    cycle.disconnected = True  # type: ignore[union-attr]
    transport.abort()
