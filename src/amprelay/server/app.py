"""The HTTP server: Segment-compatible ingest (`/v1/*`), health, metrics, the browser
session plugin. Built on Starlette; run by uvicorn (`amprelay serve`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from amprelay.config import Config, SourceConfig
from amprelay.delivery.metrics import Metrics
from amprelay.errors import Unavailable
from amprelay.js.json import SLOW, dumps, parse_fast
from amprelay.server.access import SOURCE_STATE_KEY
from amprelay.server.cdn import settings_routes
from amprelay.server.ingest import (
    BATCH_PATHS,
    TYPE_BY_PATH,
    IngestError,
    Limits,
    RateLimiter,
    Rejection,
    Rejections,
    decode_body,
    merge_batch_item,
    overwritten_bytes,
    parse_body,
    parse_request,
    too_large,
)
from amprelay.server.metrics import ingest_metrics
from amprelay.spec import normalize_message, validate_message
from amprelay.spec.timestamps import format_timestamp

if TYPE_CHECKING:
    from amprelay.relay.inbox import IngestPressure

log = logging.getLogger("amprelay.server")


class RelayLike(Protocol):
    """What the HTTP layer uses of the relay (``amprelay.relay.runtime.Relay``)."""

    @property
    def config(self) -> Config:
        """The running config (``server.public_url`` is read per settings request)."""

    @property
    def metrics(self) -> Metrics: ...

    @property
    def pressure(self) -> IngestPressure | None:
        """Told while an ingest request is in flight (the inbox processor gives way), or None."""

    def source_for_key(self, write_key: str) -> SourceConfig | None: ...

    async def accept(self, source: SourceConfig, messages: list[dict[str, Any]], rejected: list[dict[str, Any]],
                     payload: bytes | None = None) -> None:
        """Make ``messages`` (valid) and ``rejected`` (each {index, reason, message}; ingest sends one
        record per request, index None, with counts and samples as its message) durable;
        return only once they are. ``payload``: ``messages`` as one JSON array (``dumps``), when
        the caller has it. Raise :class:`Unavailable` to refuse."""

    def ready(self) -> ReadyReport:
        """The readiness checks' outcome (called in a worker thread)."""

    def metrics_text(self) -> tuple[bytes, str]: ...


class ReadyReport(Protocol):
    @property
    def ok(self) -> bool: ...

    def body(self) -> dict[str, Any]: ...


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def create_app(relay: RelayLike, *, max_message_bytes: int = 32 * 1024, max_batch_bytes: int = 500 * 1024,
               cors_origins: list[str] | None = None, extra_routes: Sequence[BaseRoute] | None = None,
               lifespan=None, limits: Limits | None = None, rate_limiter: RateLimiter | None = None,
               fallback: ASGIApp | None = None) -> Starlette:
    """``limits`` (default: Segment's, with ``max_message_bytes``/``max_batch_bytes``) bound what one
    request may carry; ``rate_limiter`` (optional) limits messages per write key (429);
    ``fallback``: where every request but ingest's goes instead of this app's routes (an ingest
    process's :class:`amprelay.server.front.ForwardToMain`)."""
    lim = limits or Limits(max_message_bytes=max_message_bytes, max_batch_bytes=max_batch_bytes)
    counters = ingest_metrics(relay.metrics.registry)

    requests_by_label: dict[tuple[str, int], Any] = {}  # the counter's children, looked up once
    cors: dict[str, Any] = {"allow_origins": cors_origins or ["*"], "allow_methods": ["POST", "GET", "OPTIONS"],
                            "allow_headers": ["Content-Type", "Authorization", "Content-Encoding"], "max_age": 86400}

    def count_request(endpoint: str, status: int) -> None:
        child = requests_by_label.get((endpoint, status))
        if child is None:
            child = requests_by_label[(endpoint, status)] = counters.requests.labels(endpoint, str(status))
        child.inc()

    async def ingest(scope: Scope, receive: Receive, send: Send) -> None:
        """The route ``/v1/{kind}`` (behind Starlette's stack and its CORS middleware): what the
        fast way in leaves, an unknown endpoint (404)."""
        status, body, extra = _error_parts(IngestError(404, "unknown_path", f"unknown endpoint {scope['path']}"))
        await _respond(send, status, body, extra)

    allow_all = "*" in cors["allow_origins"]
    allowed = frozenset(o.encode("latin-1") for o in cors["allow_origins"])

    def cors_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
        """The headers Starlette's CORS middleware adds to a simple (not preflight) response."""
        origin = next((value for name, value in scope["headers"] if name == b"origin"), None)
        if origin is not None and (allow_all or origin in allowed):
            return [(b"access-control-allow-origin", b"*" if allow_all else origin), _VARY_ORIGIN]
        return [_VARY_ORIGIN]

    async def fast_ingest(scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /v1/<known endpoint>`` as a plain ASGI app (see :class:`IngestApp`): no Request
        object, no middleware; CORS's headers added here. An exception is answered 500 and
        re-raised, as Starlette's error middleware does."""
        segment = scope["path"][4:]
        endpoint = "batch" if segment in BATCH_PATHS else TYPE_BY_PATH[segment]
        cors_extra = cors_headers(scope)
        pressure = relay.pressure
        weight = 0
        if pressure is not None:
            pressure.enter()
            if pressure.weighs:
                weight = declared_length(scope, lim.max_batch_bytes)
                pressure.weigh(weight)
        try:
            status, body, extra = await _ingest(scope, receive, segment)
        except Exception:
            await send({"type": "http.response.start", "status": 500, "headers": [
                (b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8"), *cors_extra]})
            await send({"type": "http.response.body", "body": b"Internal Server Error"})
            raise
        finally:
            if pressure is not None:
                if weight:
                    pressure.weigh(-weight)
                pressure.exit()
        await _respond(send, status, body, extra + cors_extra if extra else cors_extra)
        count_request(endpoint, status)

    async def _ingest(scope: Scope, receive: Receive, segment: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """(status, JSON body, extra headers) of one ingest request."""
        batch = segment in BATCH_PATHS
        limit = lim.max_batch_bytes if batch else lim.max_message_bytes
        authorization = content_encoding = content_length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-encoding":
                content_encoding = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value.decode("latin-1")
        try:
            raw = await _read_limited(receive, content_length, limit)
            body = decode_body(raw, content_encoding, limit)
            del raw
            doc = parse_fast(body)
            if doc is SLOW:  # the pure-Python path (lone surrogates, deep nesting, errors): off the loop
                doc = await run_in_threadpool(parse_body, body)
            parsed = parse_request(segment, body, authorization, lim.max_message_bytes, lim.max_depth, doc=doc)
            del body, doc
        except IngestError as exc:
            if exc.code in ("too_large", "too_deep"):
                counters.rejected.labels(exc.code).inc()
            return _error_parts(exc)
        except ClientDisconnect:
            return 400, b"", []
        if not parsed.write_key:
            return _error_parts(IngestError(
                401, "missing_write_key", "no write key: send it as the Basic auth username or as `writeKey` in the body"))
        source = relay.source_for_key(parsed.write_key)
        if source is None:
            return _error_parts(IngestError(401, "invalid_write_key", "the write key is not valid for any source"))
        scope.setdefault("state", {})[SOURCE_STATE_KEY] = source.name  # the access log's "source"

        now = datetime.now(UTC)
        now_text = format_timestamp(now)
        accepted: list[dict[str, Any]] = []
        payload: list[bytes] = []  # each accepted message's JSON: the inbox row is their array
        rejections = Rejections()
        items = parsed.messages
        shared, shallow, max_bytes = parsed.batch_context, parsed.shallow, lim.max_message_bytes
        taken = min(len(items), lim.max_batch_messages) if batch else len(items)
        for index in range(taken):
            item = items[index]
            items[index] = None  # the request's tree is freed as its items are taken
            try:
                # a batch's item: a new dict, the shared fields merged (the item stays as sent)
                msg, rejection = merge_batch_item(item, shared, lim.max_depth, shallow) if batch else (item, None)
                if msg is not None:
                    problems = validate_message(msg)
                    if problems:
                        size = len(dumps(item)) if batch else 0  # a single message: measured whole
                        rejection = too_large(size, max_bytes) if size > max_bytes else \
                            Rejection("invalid_message", "; ".join(problems))
                        item = msg
                    else:
                        slack = overwritten_bytes(msg) if batch else 0
                        data = dumps(normalize_message(msg, received_at=now, received_text=now_text))
                        # the limit is on the item as sent: measured only when the normalised
                        # message is near it (normalising adds bytes but for what it overwrites)
                        if len(data) + slack > max_bytes and batch and (size := len(dumps(item))) > max_bytes:
                            rejection = too_large(size, max_bytes)
                        else:
                            accepted.append(msg)
                            payload.append(data)
                            continue
            except Exception:  # a bug must cost one item, never the request (SDKs retry 5xx)
                log.exception("ingest could not read the message at index %d", index)
                rejection = Rejection("unreadable", "the relay could not read this message")
            assert rejection is not None
            rejections.add(index, rejection, item)
        rejections.add_many(taken, len(items) - taken, Rejection(
            "too_many", f"the batch holds {len(items)} messages; the limit is {lim.max_batch_messages} per batch"))
        for code, n in rejections.by_code.items():
            counters.rejected.labels(code).inc(n)
        if not batch and rejections:
            # A single message that is invalid: nothing else rides on this request.
            return 400, orjson.dumps({"success": False, "code": "invalid_message",
                                      "message": rejections.first[0][1].reason}), []
        if rate_limiter is not None:
            wait = rate_limiter.take(parsed.write_key, len(accepted))
            if wait > 0:
                return 429, orjson.dumps(
                    {"success": False, "code": "rate_limited",
                     "message": f"over this write key's limit of {rate_limiter.rate:g} messages a second"}), \
                    [(b"retry-after", str(max(1, math.ceil(wait))).encode())]
        try:
            await relay.accept(source, accepted, [rejections.dead_letter()] if rejections else [],
                               b"[" + b",".join(payload) + b"]" if payload else None)
        except Unavailable as exc:
            return 503, orjson.dumps({"success": False, "code": "unavailable", "message": exc.reason}), \
                [(b"retry-after", str(exc.retry_after).encode())]
        if not rejections:
            return 200, _SUCCESS, []
        answer: dict[str, Any] = {"success": True}
        answer.update(rejections.answer())
        return 200, orjson.dumps(answer), []

    async def health(request: Request) -> Response:
        return ORJSONResponse({"status": "ok"})

    async def index(request: Request) -> Response:
        return ORJSONResponse(service_index())

    async def ready(request: Request) -> Response:
        report = await run_in_threadpool(relay.ready)  # the checks read the store
        return ORJSONResponse(report.body(), status_code=200 if report.ok else 503)

    async def metrics(request: Request) -> Response:
        # queue and inbox counts are SQL queries (the inbox's waits for the group fsync): off the loop
        data, content_type = await run_in_threadpool(relay.metrics_text)
        return Response(data, media_type=content_type)

    async def session_plugin(request: Request) -> Response:
        try:
            js = resources.files("amprelay.server").joinpath("static/amplitude-session.js").read_bytes()
        except FileNotFoundError:
            return PlainTextResponse("session plugin not built", status_code=404)
        return Response(js, media_type="application/javascript", headers={"Cache-Control": "public, max-age=300"})

    routes = [
        Route("/v1/{kind}", _Endpoint(ingest), methods=["POST"]),  # what the fast path leaves: unknown paths, other methods
        Route("/", index),
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", metrics),
        Route("/plugins/amplitude-session.js", session_plugin),
        *settings_routes(relay.source_for_key, lambda: relay.config.server.public_url),
        *(extra_routes or []),
    ]
    return IngestApp(fast_ingest, routes=routes, middleware=[Middleware(CORSMiddleware, **cors)], lifespan=lifespan,
                     fallback=fallback)


_SUCCESS = orjson.dumps({"success": True})
_JSON_HEADERS = (b"content-type", b"application/json")
_VARY_ORIGIN = (b"vary", b"Origin")


def _error_parts(exc: IngestError) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    return exc.status, orjson.dumps(exc.body()), []


async def _respond(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    """A JSON answer, as Starlette's JSONResponse sends it (an empty body: no content type)."""
    headers = [(b"content-length", str(len(body)).encode()), *([_JSON_HEADERS] if body else []), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Endpoint:
    """An ASGI function as a route's app (Starlette wraps plain functions as request handlers)."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class IngestApp(Starlette):
    """The Starlette app, with a shorter way in for ``POST /v1/<endpoint>`` (the known ingest
    endpoints): straight to the ingest ASGI app, which adds CORS's headers itself, without
    Starlette's per-request stack (error, exception and CORS middleware, router, Request). The
    same app also serves the route ``/v1/{kind}`` for what the fast path leaves (unknown
    endpoints, other methods).

    Middleware added with :meth:`add_middleware` (the access log) wraps both ways in. An exception
    the ingest app raises is answered 500 and re-raised, as Starlette's error middleware does.
    With a ``fallback``, every other HTTP request goes there instead (the app's own stack then
    serves only the lifespan)."""

    def __init__(self, ingest: ASGIApp, fallback: ASGIApp | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fast: ASGIApp = ingest
        self._fallback = fallback

    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        super().add_middleware(middleware_class, *args, **kwargs)
        self._fast = middleware_class(self._fast, *args, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path.startswith("/v1/") and (path[4:] in TYPE_BY_PATH or path[4:] in BATCH_PATHS):
                scope["app"] = self
                await self._fast(scope, receive, send)
                return
        if self._fallback is not None and scope["type"] != "lifespan":
            await self._fallback(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def service_index() -> dict[str, Any]:
    """What ``GET /`` answers: the service, its version and where to go next."""
    from amprelay import __version__

    return {"name": "amprelay", "version": __version__,
            "links": {"health": "/health", "ready": "/ready", "metrics": "/metrics", "console": "/console"}}


def declared_length(scope: Scope, cap: int) -> int:
    """The request's Content-Length, at most ``cap`` (0 when absent or invalid: the body's own
    checks answer that)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return max(0, min(int(value), cap))
            except ValueError:
                return 0
    return 0


async def _read_limited(receive: Receive, declared: str | None, limit: int) -> bytes:
    """Read the body, refusing (413) as soon as it passes ``limit`` bytes on the wire
    (``declared``: the Content-Length header). The client gone: ClientDisconnect."""
    if declared is not None:
        try:
            if int(declared) > limit:
                raise IngestError(413, "too_large", f"request body is {declared} bytes; the limit is {limit}")
        except ValueError:
            raise IngestError(400, "bad_request", "invalid Content-Length") from None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise IngestError(413, "too_large", f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
