"""The access log (``logging.access_log: true`` or ``serve --access-log``): one line per HTTP
request on the logger ``amprelay.access`` with method, path, status, response bytes, duration
and the source the write key belongs to. Never a key: no query string, no headers, and a path
segment that is a write key (``/v1/projects/<key>/settings``) is masked."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amprelay.masking import MASK

log = logging.getLogger("amprelay.access")

# Set by a handler that authenticated a write key: ``request.state.source = source.name``.
SOURCE_STATE_KEY = "source"


def masked_path(path: str, is_key: Callable[[str], bool]) -> str:
    parts = path.split("/")
    return "/".join(MASK if part and (is_key(part) or (i > 0 and parts[i - 1] == "projects")) else part
                    for i, part in enumerate(parts))


class AccessLogMiddleware:
    """Pure ASGI middleware (no body buffering): counts the response's bytes as they are sent."""

    def __init__(self, app: ASGIApp, is_key: Callable[[str], bool] = lambda _s: False):
        self.app = app
        self.is_key = is_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 0
        size = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            method = scope.get("method", "")
            path = masked_path(scope.get("path", ""), self.is_key)
            source = state.get(SOURCE_STATE_KEY)
            log.info("%s %s %s", method, path, status or "-", extra={"fields": {
                "method": method, "path": path, "status": status or None, "bytes": size,
                "duration_ms": duration_ms, "source": source}})
