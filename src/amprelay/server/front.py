"""Ingest processes (``serve --ingest-processes N``): the HTTP front of one relay in N processes.

Each ingest process accepts connections on the relay's port (a socket of its own, bound by the
main process with ``SO_REUSEPORT``, so the kernel spreads connections over them) and answers
``POST /v1/<endpoint>`` itself, into the inbox. Every other request (the console, ``/metrics``,
``/ready``, the CDN settings...) it forwards to the main process, which serves them on a Unix
socket in the data dir: state that has one owner (the console's sessions and activity, the merged
metrics, delivery's health) stays in one process.

The main process learns who the client is from two headers only an ingest process sets
(:data:`CLIENT_HEADER`, :data:`SCHEME_HEADER`); an ingest process drops them from what a client
sends, and the main process reads them only from its private socket (:class:`FromFront`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("amprelay.server")

CLIENT_HEADER = b"x-amprelay-front-client"
SCHEME_HEADER = b"x-amprelay-front-scheme"
_OURS = frozenset({CLIENT_HEADER, SCHEME_HEADER})
#: RFC 9110 7.6.1: headers of one connection, not of the message (not forwarded)
_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
                         b"trailer", b"transfer-encoding", b"upgrade", b"proxy-connection"})
_BAD_GATEWAY = b'{"success":false,"code":"unavailable","message":"the relay\'s main process is not answering"}'


class ForwardToMain:
    """An ASGI app that passes each HTTP request to the main process's Unix socket and streams
    its answer back. Not for ingest (ingest processes answer that themselves)."""

    def __init__(self, socket_path: str, *, timeout: float = 120.0):
        self.socket_path = socket_path
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=socket_path), base_url="http://amprelay",
            timeout=httpx.Timeout(timeout, connect=5.0), follow_redirects=False, trust_env=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no websockets in the relay
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        request = self._client.build_request(
            scope["method"], _target(scope), headers=forwarded_headers(scope), content=_body(receive))
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.error("could not forward %s %s to the main process: %s", scope["method"], scope["path"], exc)
            await send({"type": "http.response.start", "status": 502, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(_BAD_GATEWAY)).encode())]})
            await send({"type": "http.response.body", "body": _BAD_GATEWAY})
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


def forwarded_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The request's headers as the main process gets them: hop-by-hop headers and any
    client-sent :data:`CLIENT_HEADER` / :data:`SCHEME_HEADER` dropped, ours added."""
    headers = [(k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP and k not in _OURS]
    client = scope.get("client")
    if client:
        headers.append((CLIENT_HEADER, f"{client[0]}:{client[1]}".encode("latin-1")))
    headers.append((SCHEME_HEADER, scope.get("scheme", "http").encode("latin-1")))
    return headers


def _target(scope: Scope) -> httpx.URL:
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string") or b""
    return httpx.URL(scheme="http", host="amprelay", raw_path=raw_path + (b"?" + query if query else b""))


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


class FromFront:
    """The main process's side (its app on the private socket): the client address and scheme an
    ingest process sent become the request's own (the console's loopback check, the access
    log), and the two headers are removed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scheme = None
            headers = []
            for name, value in scope["headers"]:
                if name == CLIENT_HEADER:
                    client = value.decode("latin-1")
                elif name == SCHEME_HEADER:
                    scheme = value.decode("latin-1")
                else:
                    headers.append((name, value))
            scope = dict(scope, headers=headers)
            host, _, port = (client or "").rpartition(":")
            scope["client"] = (host, int(port)) if host and port.isdigit() else None
            if scheme in ("http", "https"):
                scope["scheme"] = scheme
        await self.app(scope, receive, send)
