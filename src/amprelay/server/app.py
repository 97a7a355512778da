"""The HTTP server: Segment-compatible ingest (`/v1/*`), health, metrics, the browser
session plugin. Built on Starlette; run by uvicorn (`amprelay serve`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from amprelay.errors import AmprelayError
from amprelay.server.ingest import (
    BATCH_PATHS,
    TYPE_BY_PATH,
    IngestError,
    decode_body,
    expand_batch_item,
    parse_request,
)
from amprelay.spec import normalize_message, validate_message
from amprelay.spec.timestamps import format_timestamp

log = logging.getLogger("amprelay.server")


class Unavailable(AmprelayError):
    """The relay can't keep more right now (store full, disk nearly full, database down)."""

    def __init__(self, reason: str, retry_after: int = 5):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RelayLike(Protocol):
    def source_for_key(self, write_key: str) -> Any | None: ...

    async def accept(self, source: Any, messages: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
        """Make ``messages`` (valid) and ``rejected`` (each {index, reason, message}) durable;
        return only once they are. Raise :class:`Unavailable` to refuse."""

    def ready(self) -> tuple[bool, str]: ...

    def metrics_text(self) -> tuple[bytes, str]: ...


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _error(exc: IngestError) -> Response:
    return ORJSONResponse(exc.body(), status_code=exc.status)


def create_app(relay: RelayLike, *, max_message_bytes: int = 32 * 1024, max_batch_bytes: int = 500 * 1024,
               cors_origins: list[str] | None = None, extra_routes: list[Route] | None = None,
               lifespan=None) -> Starlette:
    async def ingest(request: Request) -> Response:
        segment = request.path_params["kind"]
        if segment not in TYPE_BY_PATH and segment not in BATCH_PATHS:
            return _error(IngestError(404, "unknown_path", f"unknown endpoint {request.url.path}"))
        pressure = getattr(relay, "pressure", None)
        if pressure is None:
            return await _ingest(request, segment)
        pressure.enter()
        try:
            return await _ingest(request, segment)
        finally:
            pressure.exit()

    async def _ingest(request: Request, segment: str) -> Response:
        limit = max_batch_bytes if segment in BATCH_PATHS else max_message_bytes
        try:
            raw = await _read_limited(request, limit)

            body = decode_body(raw, request.headers.get("content-encoding"), limit)
            parsed = parse_request(segment, body, request.headers.get("authorization"), max_message_bytes)
        except IngestError as exc:
            return _error(exc)
        except ClientDisconnect:
            return Response(status_code=400)
        if not parsed.write_key:
            return _error(IngestError(401, "missing_write_key",
                                      "no write key: send it as the Basic auth username or as `writeKey` in the body"))
        source = relay.source_for_key(parsed.write_key)
        if source is None:
            return _error(IngestError(401, "invalid_write_key", "the write key is not valid for any source"))

        now = datetime.now(UTC)
        now_text = format_timestamp(now)
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(parsed.messages):
            msg, reason = (item, None)
            if segment in BATCH_PATHS:
                msg, reason = expand_batch_item(item, parsed.batch_context, max_message_bytes)
            if msg is not None:
                problems = validate_message(msg)
                if problems:
                    reason = "; ".join(problems)
            if reason is not None:
                rejected.append({"index": index, "reason": reason, "message": item})
                continue
            accepted.append(normalize_message(msg, received_at=now, received_text=now_text))
        if segment not in BATCH_PATHS and rejected:
            # A single message that is invalid: nothing else rides on this request.
            return ORJSONResponse({"success": False, "code": "invalid_message", "message": rejected[0]["reason"]},
                                  status_code=400)
        try:
            await relay.accept(source, accepted, rejected)
        except Unavailable as exc:
            return ORJSONResponse({"success": False, "code": "unavailable", "message": exc.reason},
                                  status_code=503, headers={"Retry-After": str(exc.retry_after)})
        body: dict[str, Any] = {"success": True}
        if rejected:
            body["rejected"] = [{"index": r["index"], "reason": r["reason"]} for r in rejected]
        return ORJSONResponse(body)

    async def health(request: Request) -> Response:
        return ORJSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        ok, why = relay.ready()
        return ORJSONResponse({"ready": ok, "reason": why}, status_code=200 if ok else 503)

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
        Route("/v1/{kind}", ingest, methods=["POST"]),
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", metrics),
        Route("/plugins/amplitude-session.js", session_plugin),
        *(extra_routes or []),
    ]
    middleware = [
        Middleware(CORSMiddleware, allow_origins=cors_origins or ["*"], allow_methods=["POST", "GET", "OPTIONS"],
                   allow_headers=["Content-Type", "Authorization", "Content-Encoding"], max_age=86400),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


async def _read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing (413) as soon as it passes ``limit`` bytes on the wire."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise IngestError(413, "too_large", f"request body is {declared} bytes; the limit is {limit}")
        except ValueError:
            raise IngestError(400, "bad_request", "invalid Content-Length") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise IngestError(413, "too_large", f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
