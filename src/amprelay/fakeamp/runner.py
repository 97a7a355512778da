"""Starting the fake: in this process (a uvicorn thread) or as a child process, plus a client handle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from amprelay.fakeamp.app import FakeAmplitude
from amprelay.fakeamp.config import FaultConfig, make_config

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9009


def bind_socket(host: str = DEFAULT_HOST, port: int = 0) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto is TCP,
    # and without it every answer waits ~40 ms (Nagle + delayed ACK).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def make_server(app: FakeAmplitude, log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        # Bodies up to Amplitude's 20 MB batch limit arrive in many chunks; no extra limit here.
    )
    return uvicorn.Server(config)


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    config: FaultConfig | None = None,
    record_path: str | None = None,
    ready_file: str | None = None,
    log_level: str = "warning",
) -> None:
    """Run the fake in the foreground until interrupted (the CLI's entry point)."""
    app = FakeAmplitude(config, record_path, freeze_gc=True)
    sock = bind_socket(host, port)
    real_port = sock.getsockname()[1]
    url = f"http://{host}:{real_port}"
    print(f"fake-amplitude listening on {url}", flush=True)
    if ready_file:
        tmp = f"{ready_file}.tmp"
        Path(tmp).write_text(url)
        os.replace(tmp, ready_file)
    make_server(app, log_level).run(sockets=[sock])


class FakeAmplitudeHandle:
    """Client side of a running fake: its ``url`` and the ``/_fake`` control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = httpx.Client(base_url=url, timeout=30.0)

    @property
    def client(self) -> httpx.Client:
        """A keep-alive ``httpx.Client`` with ``base_url=url`` (cheaper than one client per call)."""
        return self._client

    @property
    def eu_url(self) -> str:
        """Base URL that the fake treats as Amplitude's EU region."""
        return f"{self.url}/eu"

    def events(
        self,
        path: str | None = None,
        kind: str | None = None,
        api_key: str | None = None,
        region: str | None = None,
        since: int = 0,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"since": since}
        for name, value in (("path", path), ("kind", kind), ("api_key", api_key), ("region", region)):
            if value:
                params[name] = value
        resp = self._client.get("/_fake/events", params=params)
        resp.raise_for_status()
        return resp.json()

    def stats(self) -> dict[str, Any]:
        resp = self._client.get("/_fake/stats")
        resp.raise_for_status()
        return resp.json()

    def reset(self) -> None:
        self._client.post("/_fake/reset").raise_for_status()

    def configure(self, **faults: Any) -> dict[str, Any]:
        resp = self._client.post("/_fake/config", json=faults)
        if resp.status_code != 200:
            raise ValueError(resp.json().get("error", resp.text))
        return resp.json()

    def config(self) -> dict[str, Any]:
        return self._client.get("/_fake/config").json()

    def healthy(self) -> bool:
        try:
            return self._client.get("/_fake/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self._client.close()

    def __enter__(self) -> FakeAmplitudeHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ThreadedFakeAmplitude(FakeAmplitudeHandle):
    """A fake running in a background thread of this process; ``app`` is the live ASGI app."""

    def __init__(self, app: FakeAmplitude, server: uvicorn.Server, thread: threading.Thread, url: str):
        super().__init__(url)
        self.app = app
        self._server = server
        self._thread = thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        super().stop()


def run_in_thread(
    port: int = 0,
    host: str = DEFAULT_HOST,
    record_path: str | None = None,
    **faults: Any,
) -> ThreadedFakeAmplitude:
    """Start the fake on ``host:port`` (0 = an ephemeral port) in a daemon thread; returns when it
    answers. ``faults`` are :class:`FaultConfig` fields (``error_rate=0.1``, ``eps_limit=10``...)."""
    app = FakeAmplitude(make_config(**faults), record_path)
    sock = bind_socket(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-amplitude")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("fake Amplitude did not start")
        time.sleep(0.005)
    return ThreadedFakeAmplitude(app, server, thread, url)


class ProcessFakeAmplitude(FakeAmplitudeHandle):
    """A fake running as a child process (``python -m amprelay.fakeamp``)."""

    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        super().__init__(url)
        self.process = process

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        super().stop()


def cli_args(faults: dict[str, Any]) -> list[str]:
    """``FaultConfig`` fields as ``amprelay fake-amplitude`` flags."""
    args: list[str] = []
    for name, value in faults.items():
        flag = "--" + name.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, list | tuple):
            if value:
                args.append(flag)
                args.extend(str(v) for v in value)
        else:
            args.extend([flag, str(value)])
    return args


def start_process(
    port: int = 0,
    host: str = DEFAULT_HOST,
    record_path: str | None = None,
    timeout: float = 20.0,
    stdout: Any = subprocess.DEVNULL,
    **faults: Any,
) -> ProcessFakeAmplitude:
    """Start the fake as a separate process and wait until it answers."""
    make_config(**faults)  # fail fast on bad settings
    with tempfile.TemporaryDirectory(prefix="fakeamp-") as tmp:
        ready = os.path.join(tmp, "ready")
        cmd = [sys.executable, "-m", "amprelay.fakeamp", "--host", host, "--port", str(port), "--ready-file", ready]
        if record_path:
            cmd += ["--record", record_path]
        cmd += cli_args(faults)
        process = subprocess.Popen(cmd, stdout=stdout, stderr=None)
        deadline = time.monotonic() + timeout
        while not os.path.exists(ready):
            if process.poll() is not None:
                raise RuntimeError(f"fake Amplitude exited with code {process.returncode}")
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("fake Amplitude did not start in time")
            time.sleep(0.02)
        url = Path(ready).read_text().strip()
    handle = ProcessFakeAmplitude(process, url)
    while not handle.healthy():
        if process.poll() is not None or time.monotonic() > deadline:
            handle.stop()
            raise RuntimeError("fake Amplitude did not answer")
        time.sleep(0.02)
    return handle
