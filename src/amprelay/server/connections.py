"""Connection limits uvicorn does not have: a header read timeout, a body read timeout, a cap on
the header block's size and on open connections.

:func:`connection_options` gives the ``uvicorn.Config`` keyword arguments for a ``server:``
config section: an HTTP protocol (uvicorn's httptools protocol with timers) and uvicorn's own
keep-alive idle timeout.

* **Header timeout**: a request's header block must be complete within ``header_timeout_seconds``
  of its first byte (the first request: of the connection's opening). A slowloris client, or a
  connection that never sends anything, is answered 408 and closed.
* **Body timeout**: the body must be complete within ``body_timeout_seconds`` of the end of the
  headers; a slow upload is cut (the handler sees the client gone; nothing is kept).
* **Keep-alive**: an idle connection between requests is closed after
  ``keep_alive_timeout_seconds`` (uvicorn's ``timeout_keep_alive``).
* **Connection cap**: beyond ``max_connections`` open connections a new one is closed at once.
  Every hostile connection ends within its timeout, so the cap is only reached by a flood.
* **Header size**: a header block over 64 KiB is answered 431 and closed.

Responses also leave in one system call, not two: uvicorn writes a response's status line and
headers (``http.response.start``) and its body apart; the protocol's transport holds what is
written during one step of the event loop and sends it together at the step's end
(:class:`CoalescingTransport`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from amprelay.config import ServerConfig
from amprelay.server.metrics import IngestMetrics

log = logging.getLogger("amprelay.server")

MAX_HEADER_BYTES = 64 * 1024
_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class CoalescingTransport:
    """A transport whose writes during one step of the event loop leave as one ``send`` at the
    step's end (``call_soon``): a response's head and body, written apart by uvicorn, in one
    system call. Beyond :attr:`HOLD_BYTES` what is held is sent at once (the transport's flow
    control sees big responses). ``close`` sends what is held first; ``abort`` drops it, as the
    transport's own buffer is dropped. Everything else is the wrapped transport's."""

    __slots__ = ("_transport", "_loop", "_held", "_held_bytes")

    HOLD_BYTES = 64 * 1024  # what is held is sent at once beyond this

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._held_bytes = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._held is None:
            if len(data) >= self.HOLD_BYTES:  # nothing to join it to worth the copy
                self._transport.write(data)
                return
            self._held = [data]
            self._loop.call_soon(self.flush)
        else:
            self._held.append(data)
            self._held_bytes += len(data)
            if self._held_bytes >= self.HOLD_BYTES:  # a big response keeps the transport's flow control
                self.flush()

    def flush(self) -> None:
        held, self._held = self._held, None
        self._held_bytes = 0
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header/body read timeouts, a header size cap and a cap on
    open connections. The limits are class attributes: :func:`guarded_protocol` makes a subclass
    per configuration."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 2048
    metrics: IngestMetrics | None = None
    _refusal_logged = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    # --- connection ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
        if len(self.connections) > self.max_connections:
            self._count("over_limit")
            now = time.monotonic()
            cls = type(self)
            if now - cls._refusal_logged > 60:
                cls._refusal_logged = now
                log.warning("over %d open connections: new connections are closed (server.max_connections)",
                            self.max_connections)
            transport.abort()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        in_headers = self._in_headers()
        if in_headers and self._header_timer is None:  # bytes after an idle keep-alive: a new request
            self._arm_header_timer()
        super().data_received(data)
        if in_headers and self._in_headers() and not self.transport.is_closing():  # headers still incomplete
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._count("header_too_large")
                self._cancel_timers()
                self.transport.write(_431)
                self.transport.close()

    # --- parser callbacks ------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self._header_bytes = 0
        super().on_headers_complete()
        if self._body_timer is None and self.cycle is not None and self.cycle.more_body:
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # --- timers ----------------------------------------------------------------------------
    def _in_headers(self) -> bool:
        """No request is between its headers' end and its response's end."""
        return self._body_timer is None and (self.cycle is None or self.cycle.response_complete)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_header_timer()
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._in_headers():
            return
        self._count("header_timeout")
        self.transport.write(_408)
        self.transport.close()

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        self._count("body_timeout")
        self.transport.close()  # the handler's receive() sees the client gone

    def _count(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.connections_cut.labels(reason).inc()


def guarded_protocol(header_timeout: float, body_timeout: float, max_connections: int,
                     metrics: IngestMetrics | None = None) -> type[GuardedHttpToolsProtocol]:
    """A :class:`GuardedHttpToolsProtocol` subclass with these limits."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {
        "header_timeout": header_timeout, "body_timeout": body_timeout, "max_connections": max_connections,
        "metrics": metrics})


def connection_options(server: ServerConfig, metrics: IngestMetrics | None = None) -> dict[str, Any]:
    """``uvicorn.Config`` keyword arguments for a ``server:`` config section's connection limits."""
    return {
        "http": guarded_protocol(server.header_timeout_seconds, server.body_timeout_seconds,
                                 server.max_connections, metrics),
        "timeout_keep_alive": server.keep_alive_timeout_seconds,
        "limit_concurrency": None,  # the cap is the protocol's: uvicorn's would answer 503 to /health
    }
