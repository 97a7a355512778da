"""One running relay: config + queue + relay + delivery + HTTP app, started and stopped as a
unit. `amprelay serve`, `amprelay demo` and the end-to-end tests use it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from amprelay.config import Config, LoadedConfig, ServerConfig
from amprelay.console import Activity, Console, ConsoleAuth, resolve_token
from amprelay.delivery.metrics import Metrics
from amprelay.delivery.service import DeliveryService
from amprelay.delivery.settings import DeliverySettings
from amprelay.engine import settle_heap
from amprelay.masking import register_secrets
from amprelay.relay.inbox import InboxProcessor, IngestPressure
from amprelay.relay.readiness import FailingDestinationsCheck, WorkersCheck
from amprelay.relay.reload import Reloader, remove_pid_file, write_pid_file
from amprelay.relay.runtime import Relay
from amprelay.relay.workers import BESIDE_INGEST_PROCESSES, Workers, reshard, shard_rule
from amprelay.server.access import AccessLogMiddleware
from amprelay.server.app import create_app
from amprelay.server.connections import connection_options
from amprelay.server.front import ForwardToMain, FromFront
from amprelay.server.ingest import ingest_limits, rate_limiter
from amprelay.server.metrics import ingest_metrics
from amprelay.store import api_keys_of, open_queue
from amprelay.store.inbox import SQLiteInbox
from amprelay.store.lock import DataDirLock, store_dir
from amprelay.store.paths import private_dir
from amprelay.store.sqlite import SQLiteQueue

log = logging.getLogger("amprelay.serve")


@dataclass
class RelayService:
    config: Config
    relay: Relay
    delivery: DeliveryService
    app: Starlette
    processor: InboxProcessor | None = None
    console: Console | None = None
    reloader: Reloader | None = None
    lock: DataDirLock | None = None
    #: ``server.ingest_processes``: their listening sockets, and the main process's own (Unix)
    fronts: FrontSockets | None = None

    @classmethod
    def build(cls, config: Config, *, worker_id: str | None = None, warnings: list[str] | None = None,
              environ: dict[str, str] | None = None,
              load: Callable[[], LoadedConfig] | None = None) -> RelayService:
        """``warnings``: the config's load warnings (the console shows them); ``environ``: where
        AMPRELAY_ADMIN_TOKEN is read (default os.environ); ``load``: reads the config again
        (as ``serve`` did) for a reload: SIGHUP, the console's button, ``amprelay reload``. Raises
        :class:`amprelay.store.lock.DataDirInUse` when another process writes the data dir."""
        private_dir(config.data_dir)
        lock = DataDirLock(store_dir(config.queue, config.data_dir)).acquire()
        try:
            return cls._build(config, lock, worker_id=worker_id, warnings=warnings, environ=environ, load=load)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _build(cls, config: Config, lock: DataDirLock, *, worker_id: str | None, warnings: list[str] | None,
               environ: dict[str, str] | None, load: Callable[[], LoadedConfig] | None) -> RelayService:
        if worker_id is None:
            # SQLite: one delivering process per store. PostgreSQL: every relay process is a worker
            # of its own, so a restarted relay's old buckets expire and move.
            worker_id = "local" if config.queue.backend == "sqlite" else \
                f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        embedded = config.queue.backend == "sqlite"
        shards = config.server.workers if embedded else 0
        n_fronts = config.server.ingest_processes if embedded else 0
        for key in ("workers", "ingest_processes"):
            if getattr(config.server, key) and not embedded:
                log.warning("server.%s applies to the embedded store; with PostgreSQL, run more relays", key)
        queue = open_queue(config.queue, config.data_dir, shared=bool(shards or n_fronts))
        queue.set_api_keys(api_keys_of(config.destinations))  # keys are read from the config, not the store
        metrics = Metrics()
        cc = config.console
        token = resolve_token(cc.admin_token.get_secret_value() if cc.admin_token else None, environ)
        # The console's activity record observes ingest and delivery only when the console is on.
        activity = Activity(Path(config.data_dir) / "console-activity.json", live_events=cc.live_events) \
            if token else None
        delivery = DeliveryService(
            queue,
            {d.name: d.stable_insert_id for d in config.destinations},
            config.delivery.amplitude_url,
            settings=DeliverySettings.from_config(config.delivery),
            metrics=metrics,
            worker_id=worker_id,
            observer=activity,
        )
        inbox = processor = None
        if isinstance(queue, SQLiteQueue):  # the inbox shares the queue's file and transactions
            inbox = SQLiteInbox(queue.db)
        relay = Relay(config, queue, metrics, on_enqueued=delivery.wake, inbox=inbox, observer=activity)
        relay.readiness.checks.append(FailingDestinationsCheck(delivery.health))
        register_secrets([token])  # the admin token may come from the environment, not the config
        workers = None
        fronts = FrontSockets.bind(config.server, config.data_dir, n_fronts) if n_fronts else None
        if inbox is not None:
            # messages left split over another number of mappers are mapped first (exactly once)
            reshard(inbox, relay, shards, shard_rule(config))
            if shards or fronts:  # mapping and delivery, or ingest, run in worker processes
                def backlog(n: int, inbox: SQLiteInbox = inbox) -> None:
                    inbox.pending_bytes = max(0, inbox.pending_bytes + n)

                workers = relay.workers = Workers(
                    config, shards, lock.fileno, on_backlog=backlog,
                    fronts=fronts.fds() if fronts else (), main_socket=fronts.main_path if fronts else None,
                    backlog=lambda: inbox.pending_bytes,
                    log_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower())
                relay.readiness.checks.append(WorkersCheck(workers))
            if not shards:
                # the processor gives way to ingest: here, or in the ingest processes
                if fronts is None:
                    relay.pressure = IngestPressure()
                if workers is not None and workers.pressure is not None:
                    processor = InboxProcessor(inbox, relay.process_inbox, relay.store,
                                               pressure=workers.pressure, **BESIDE_INGEST_PROCESSES)
                else:
                    processor = InboxProcessor(inbox, relay.process_inbox, relay.store, pressure=relay.pressure)
        server = config.server
        reloader = Reloader(relay, load, config.data_dir) if load is not None else None

        @contextlib.asynccontextmanager
        async def lifespan(_app):
            pid_file = None
            if reloader is not None:
                _on_sighup(reloader)  # before the pid file: a SIGHUP must never find the default action
                pid_file = write_pid_file(config.data_dir)
            if workers is not None:
                workers.start()
                log.info("workers started", extra={"fields": {
                    "mapping": shards, "delivery": 1 if shards else 0, "ingest": n_fronts}})
            here = not shards  # mapping and delivery in this process
            if here:
                if processor is not None:
                    processor.start()
                await delivery.start()
                log.info("delivery started", extra={"fields": {
                    "destinations": [d.name for d in config.destinations],
                    "amplitude_url": config.delivery.amplitude_url or "amplitude.com"}})
            try:
                yield
            finally:
                if workers is not None:  # the ingest processes first: nothing more arrives
                    await asyncio.to_thread(workers.stop)
                if here:
                    if processor is not None:
                        await asyncio.to_thread(processor.stop)
                    await delivery.stop(graceful=True)
                if inbox is not None:
                    inbox.close()
                if activity is not None:
                    activity.save()
                if relay.sessions is not None:
                    relay.sessions.close()
                queue.close()
                if fronts is not None:
                    fronts.close()
                if pid_file is not None:
                    remove_pid_file(pid_file)
                lock.release()
                log.info("stopped; nothing in flight is lost (undelivered units stay queued)")

        auth = ConsoleAuth(token, allow_remote=cc.allow_remote, session_seconds=cc.session_hours * 3600)
        console = Console(relay, activity or Activity(None), auth, warnings=warnings, wake=delivery.wake,
                          health=delivery.health, reload=reloader.reload if reloader is not None else None)
        if reloader is not None:
            def applied(loaded: LoadedConfig) -> None:
                console.warnings = list(loaded.warnings)
                queue.set_api_keys(api_keys_of(loaded.config.destinations))  # a rotated key: read at send time
                if workers is not None:  # mapping and delivery processes restart, one by one, with it
                    workers.restart(loaded.config)

            reloader.on_applied = applied
        app = create_app(relay, cors_origins=server.cors_origins, lifespan=lifespan, extra_routes=console.routes(),
                         limits=ingest_limits(server), rate_limiter=rate_limiter(server))
        if config.logging.access_log:
            app.add_middleware(AccessLogMiddleware, is_key=lambda part: relay.source_for_key(part) is not None)
        return cls(config, relay, delivery, app, processor, console, reloader, lock, fronts)

    def uvicorn_config(self) -> uvicorn.Config:
        s = self.config.server
        if self.fronts is not None:  # on the private socket, behind the ingest processes (which do TLS)
            return uvicorn.Config(FromFront(self.app), log_config=None, access_log=False, proxy_headers=False,
                                  timeout_graceful_shutdown=30, backlog=2048,
                                  **connection_options(s, ingest_metrics(self.relay.metrics.registry)))
        return uvicorn.Config(self.app, host=s.host, port=s.port, log_config=None, access_log=False,
                              timeout_graceful_shutdown=30, backlog=2048, **tls_options(s),
                              **connection_options(s, ingest_metrics(self.relay.metrics.registry)))

    @property
    def sockets(self) -> list[socket.socket] | None:
        """What uvicorn serves on: None (it binds server.host:port), or the private socket."""
        return [self.fronts.main] if self.fronts is not None else None

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM; then stop accepting, finish deliveries in flight, exit."""
        # An inbox processor here shares the GIL with the event loop: switch threads more often
        # than the default 5 ms so ingest requests are not held behind a transform batch. Without
        # one (PostgreSQL: requests transform inline; mapping in worker processes) the default
        # stays: on PostgreSQL, 0.5 ms cost 15% more CPU per event in GIL hand-offs
        # (bench/scale.py: 57 -> 48 µs per event in one relay, 16,200 -> 17,900 events/s).
        if self.processor is not None:
            sys.setswitchinterval(0.0005)
        settle_heap()  # the cyclic collector out of the way of the messages' trees
        # uvicorn's own runner: its event loop (uvloop when installed, as it is with amprelay)
        uvicorn.Server(self.uvicorn_config()).run(sockets=self.sockets)


def tls_options(server: ServerConfig) -> dict[str, Any]:
    """uvicorn's options for HTTPS (server.tls_cert / tls_key) and for the proxies it trusts."""
    options: dict[str, object] = {}
    if server.tls_cert and server.tls_key:
        options.update(ssl_certfile=server.tls_cert, ssl_keyfile=server.tls_key)
    if server.trusted_proxies is not None:
        options["forwarded_allow_ips"] = server.trusted_proxies
    return options


def _on_sighup(reloader: Reloader) -> None:
    """SIGHUP reloads the config (in a worker thread: compiling must not stall ingest). Only the
    main thread can take signals: a relay in a background thread (tests, demo) goes without."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, reloader.reload))
    except (ValueError, RuntimeError, NotImplementedError, AttributeError):
        log.debug("SIGHUP reload not available in this thread")


class ThreadedRelay:
    """A relay serving on 127.0.0.1 in a background thread (demo, tests)."""

    def __init__(self, service: RelayService):
        import threading

        self.service = service
        cfg = service.uvicorn_config()
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": service.sockets},
                                        name="amprelay-relay", daemon=True)

    def start(self, timeout: float = 15.0) -> ThreadedRelay:
        import time

        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the relay did not start")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        fronts = self.service.fronts
        sock = fronts.listeners[0] if fronts is not None else self._server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        scheme = "https" if self.service.config.server.tls_cert else "http"
        return f"{scheme}://{host}:{port}"

    def stop(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)


def run_in_thread(config: Config) -> ThreadedRelay:
    """Start a relay for ``config`` (set ``config.server.port = 0`` for an ephemeral port)."""
    return ThreadedRelay(RelayService.build(config)).start()


# -- server.ingest_processes -----------------------------------------------------------------------


class FrontSockets:
    """The sockets of a relay with ingest processes: one listening socket per ingest process on
    server.host:port (``SO_REUSEPORT``: the kernel spreads connections over them), bound here so
    a port in use fails ``serve`` at once and a restarted ingest process finds its socket's
    backlog waiting; and the main process's own Unix socket, in the data dir, where the ingest
    processes send every request but ingest's."""

    def __init__(self, listeners: list[socket.socket], main: socket.socket, main_path: str, tmp: str | None):
        self.listeners = listeners
        self.main = main
        self.main_path = main_path
        self._tmp = tmp

    @classmethod
    def bind(cls, server: ServerConfig, data_dir: str | os.PathLike[str], n: int) -> FrontSockets:
        """Raises OSError (the port in use...)."""
        listeners: list[socket.socket] = []
        try:
            family, kind, proto, _, address = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_STREAM)[0]
            for _ in range(n):
                sock = socket.socket(family, kind, proto)
                listeners.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind(address)
                sock.listen(2048)
                address = sock.getsockname()  # port 0: the others on the port the first got
            main, path, tmp = _private_socket(Path(data_dir))
        except BaseException:
            for sock in listeners:
                sock.close()
            raise
        return cls(listeners, main, path, tmp)

    def fds(self) -> list[int]:
        return [sock.fileno() for sock in self.listeners]

    def close(self) -> None:
        for sock in [*self.listeners, self.main]:
            sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.main_path)
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._tmp)


def _private_socket(data_dir: Path) -> tuple[socket.socket, str, str | None]:
    """A listening Unix socket only this user can reach: in the data dir (private to the user,
    locked by this process: a file left by a killed relay is replaced), else, for a path longer
    than a Unix socket's name may be, in a new private temporary directory."""
    import tempfile

    tmp = None
    path = str(data_dir.resolve() / "amprelay-main.sock")
    if len(path.encode()) > 100:
        tmp = tempfile.mkdtemp(prefix="amprelay-")
        path = os.path.join(tmp, "main.sock")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        old = os.umask(0o177)
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock, path, tmp


def front_main() -> int:
    """An ingest process (``amprelay.cli.front``, started by :class:`Workers`): ingest on its
    listening socket into the inbox, the rest forwarded to the main process; its metrics and
    appended bytes reported every 0.5 s; the inbox's backlog read from stdin (the disk guard's
    reserve). SIGTERM: stops accepting, answers the requests in flight, exits."""
    import threading

    from amprelay.delivery.metrics import Metrics
    from amprelay.relay.workers import REPORT_SECONDS, report, shared_pressure, start_worker
    from amprelay.store import sqlite_path
    from amprelay.store.sqlitedb import SQLiteDatabase

    spec, out = start_worker()
    config: Config = spec["config"]
    server = config.server
    db = SQLiteDatabase(sqlite_path(config.queue, config.data_dir), shared=True)
    queue = SQLiteQueue(db)
    inbox = SQLiteInbox(db)
    metrics = Metrics()
    relay = Relay(config, queue, metrics, inbox=inbox)
    shared = shared_pressure(spec)
    if shared is not None:  # the mappers give way to the requests in flight here
        relay.pressure = shared.slot(spec["shard"])
    forward = ForwardToMain(spec["main_socket"])
    app = create_app(relay, cors_origins=server.cors_origins, limits=ingest_limits(server),
                     rate_limiter=rate_limiter(server), fallback=forward, lifespan=forward.lifespan)
    if config.logging.access_log:
        app.add_middleware(AccessLogMiddleware, is_key=lambda part: relay.source_for_key(part) is not None)
    stopped = threading.Event()

    def reports() -> None:
        while not stopped.wait(REPORT_SECONDS):
            report(out, metrics.registry, write_error=db.write_error, appended_bytes=inbox.appended_bytes)

    def backlog() -> None:
        for line in sys.stdin.buffer:
            with contextlib.suppress(ValueError):
                inbox.pending_bytes = int(line)

    threading.Thread(target=reports, name="amprelay-reports", daemon=True).start()
    threading.Thread(target=backlog, name="amprelay-backlog", daemon=True).start()
    listener = socket.socket(fileno=spec["fd"])
    cfg = uvicorn.Config(app, log_config=None, access_log=False, timeout_graceful_shutdown=30, backlog=2048,
                         **tls_options(server), **connection_options(server, ingest_metrics(metrics.registry)))
    try:
        uvicorn.Server(cfg).run(sockets=[listener])
    finally:
        stopped.set()
        report(out, metrics.registry, write_error=db.write_error, appended_bytes=inbox.appended_bytes)
        inbox.close()
        queue.close()
        db.close()
    return 0
