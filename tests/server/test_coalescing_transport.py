"""The HTTP protocol's transport sends what one step of the event loop writes as one ``send``
(a response's head and body together), and a real server answers whole responses through it."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from amprelay.server.connections import CoalescingTransport, connection_options


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_writes_of_one_step_leave_together_at_its_end():
    async def main() -> _Recorder:
        raw = _Recorder()
        t = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        t.write(b"")
        t.write(b"ok")
        assert raw.writes == []  # held until the step ends
        await asyncio.sleep(0)
        assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
        t.write(b"next")
        await asyncio.sleep(0)
        assert raw.writes[1:] == [b"next"]
        assert t.get_extra_info("peername") == "info:peername"  # the rest is the transport's
        big = b"b" * CoalescingTransport.HOLD_BYTES
        t.write(big)  # too big to hold
        assert raw.writes[2:] == [big]
        t.write(b"head")
        t.write(big)  # held data beyond the bound: sent at once, not at the step's end
        assert raw.writes[3:] == [b"head" + big]
        await asyncio.sleep(0)
        assert len(raw.writes) == 4
        return raw

    asyncio.run(main())


def test_close_sends_what_is_held_and_abort_drops_it():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        raw = _Recorder()
        t = CoalescingTransport(raw, loop)  # type: ignore[arg-type]
        t.write(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        t.close()
        assert raw.writes == [b"HTTP/1.1 408 Request Timeout\r\n\r\n"] and raw.closed
        await asyncio.sleep(0)  # the scheduled flush finds nothing more to send
        assert len(raw.writes) == 1
        raw2 = _Recorder()
        t2 = CoalescingTransport(raw2, loop)  # type: ignore[arg-type]
        t2.write(b"partial")
        t2.abort()
        await asyncio.sleep(0)
        assert raw2.writes == [] and raw2.aborted

    asyncio.run(main())


def test_a_server_answers_keep_alive_requests_whole_through_it():
    from amprelay.config import ServerConfig

    async def hello(request):
        return PlainTextResponse("x" * int(request.query_params.get("n", "5")))

    app = Starlette(routes=[Route("/", hello)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, **connection_options(ServerConfig()))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        with socket.create_connection(("127.0.0.1", port)) as conn:
            for n in (5, 70_000, 0):  # a body beyond the socket buffer too
                conn.sendall(f"GET /?n={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(65536)
                assert body == b"x" * n
    finally:
        server.should_exit = True
        thread.join(10)
