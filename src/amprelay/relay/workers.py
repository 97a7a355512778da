"""``serve --workers N``: mapping and delivery in processes of their own, on one SQLite store.

The relay's main process keeps the HTTP server (ingest into the inbox, health, readiness,
metrics, the console) and the data-dir lock; it starts

- N *mapping* processes: mapper ``k`` reads the inbox from its own cursor and maps the messages
  whose key hashes to ``k`` (:class:`amprelay.relay.inbox.Shard`: the user, else the device, so
  each user's messages go through one process, in order). Its units are stored and its cursor
  moved in one transaction; rows every mapper has passed leave the inbox in that transaction.
  Each message so becomes units exactly once, even if any process is killed;
- one *delivery* process, the store's only leasing process (leases live in its memory, so a
  killed one's leases vanish with it and its successor resends; Amplitude deduplicates by
  ``insert_id``);
- with ``serve --ingest-processes M``, M *ingest* processes (:mod:`amprelay.server.front`), each
  on a listening socket of its own that the main process bound (the sockets outlive a restarted
  ingest process: connections wait in its backlog meanwhile).

The processes write the SQLite file in turns (an ``flock`` per transaction, see
:class:`amprelay.store.sqlitedb.SQLiteDatabase`). They inherit the lock's descriptor, so the data
dir stays locked until the last of them is gone, and they die with the main process
(``PR_SET_PDEATHSIG``, and a check of the parent pid twice a second). The main process restarts a
worker that exits. Every 0.5 s each worker writes a report on its stdout (its metrics, its store
error, the inbox bytes it consumed or appended), and the main process writes the inbox's backlog
in bytes to each ingest process's stdin (its disk guard's reserve); ``/metrics`` adds the workers' counters to the main
process's own (a restarted worker's last report is kept, so counters do not go back), and
``/ready`` is false while a worker cannot write the store.

Changing N (or going back to one process) is safe: before serving, :func:`reshard` lets every old
shard consume its messages up to the furthest cursor, then starts the new shards there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from amprelay.relay.inbox import SharedPressure

log = logging.getLogger("amprelay.workers")

REPORT_SECONDS = 0.5
#: the module an ingest process runs (it wires the HTTP server: above this package)
FRONT_MODULE = "amprelay.cli.front"
#: a mapper's settings beside ingest processes (see SharedPressure): the inbox polled (their rows
#: wake no one), the lowest CPU priority, and 256 KiB transactions (64 KiB, one batch request, made
#: single events, some 60 rows a transaction, fall behind at 3,000 requests/s; 2 MiB, taken in a
#: moment without requests in flight, holds the store's lock for tens of ms when the next arrive)
BESIDE_INGEST_PROCESSES: dict[str, Any] = {"idle_wait": 0.01, "pressure_bytes": 256 * 1024,
                                           "batch_bytes": 256 * 1024, "nice": 19}
Snapshot = list  # [[family, type, documentation, [[sample, {labels}, value], ...]], ...]


def shard_rule(config: Any) -> str:
    """How messages are split over mappers: ``session`` when a destination keeps server-side
    sessions (their state is per device, and one process must own it), else ``partition``."""
    return "session" if any(d.server_sessions.enabled for d in config.destinations) else "partition"


def reshard(inbox: Any, relay: Any, shards: int, rule: str) -> int:
    """Make the inbox ready for ``shards`` mappers (0: one in-process processor): if it was split
    otherwise, each old shard first consumes its messages up to the furthest cursor. Returns how
    many rows the old shards consumed."""
    from amprelay.relay.inbox import InboxProcessor, Shard

    cursors, old_rule = inbox.cursors()
    if not cursors and not shards:
        return 0
    if cursors and len(cursors) == shards and old_rule == rule:
        return 0
    done = 0
    if cursors:
        up_to = max(cursors.values())
        for k in sorted(cursors):
            p = InboxProcessor(inbox, relay.process_inbox, relay.store,
                               shard=Shard(k, len(cursors), old_rule == "session"))
            done += p.catch_up(up_to)
        log.info("the inbox was split over %d mapper(s); it is now split over %d", len(cursors), shards)
    inbox.set_shards(shards, rule)
    return done


# -- the main process's side ------------------------------------------------------------------------


@dataclass
class _Worker:
    name: str
    role: str  # "map" | "deliver" | "front"
    shard: int = 0
    fd: int | None = None  # a front's listening socket
    proc: subprocess.Popen | None = None
    report: dict[str, Any] = field(default_factory=dict)
    consumed: int = 0  # this incarnation's consumed bytes already subtracted from the backlog
    appended: int = 0  # this incarnation's appended bytes already added to it
    started: float = 0.0
    restarts: int = 0


class Workers:
    """Starts, watches and restarts the worker processes; merges their reports."""

    def __init__(self, config: Any, shards: int, lock_fd: int | None, *, log_level: str = "warning",
                 on_backlog: Callable[[int], None] | None = None, fronts: Sequence[int] = (),
                 main_socket: str | None = None, backlog: Callable[[], int] | None = None):
        """``shards`` mapping processes and one delivery process (none if ``shards`` is 0), an
        ingest process per socket in ``fronts`` (which forward the rest to ``main_socket``).
        ``on_backlog``: told the inbox bytes the workers consumed (negative) or appended;
        ``backlog``: the inbox's bytes waiting, sent to the ingest processes."""
        self.config = config
        self.shards = shards
        self.rule = shard_rule(config)
        self.lock_fd = lock_fd
        self.log_level = log_level
        self.on_backlog = on_backlog
        self.main_socket = main_socket
        self.backlog = backlog
        self.workers = [_Worker(f"map-{k}", "map", k) for k in range(shards)] + \
            ([_Worker("deliver", "deliver")] if shards else []) + \
            [_Worker(f"ingest-{k}", "front", k, fd) for k, fd in enumerate(fronts)]
        # the ingest processes' requests in flight, for the mappers to give way to (as in one process)
        self.pressure: SharedPressure | None = SharedPressure.create(len(fronts)) if fronts else None
        self._retired: list[Snapshot] = []  # counters of worker incarnations that exited
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._gone = threading.Event()
        self._restarting: set[str] = set()
        self._monitor: threading.Thread | None = None

    # lifecycle

    def start(self) -> None:
        # Every worker is started by the monitor thread, which lives until they are all gone:
        # PR_SET_PDEATHSIG fires when the thread that started a process exits.
        self._monitor = threading.Thread(target=self._watch, name="amprelay-workers", daemon=True)
        self._monitor.start()

    def _spawn(self, w: _Worker) -> None:
        spec = {"role": w.role, "shard": w.shard, "shards": self.shards, "rule": self.rule, "fd": w.fd,
                "main_socket": self.main_socket, "config": self.config, "parent": os.getpid(),
                "log_level": self.log_level}
        pressure_fd = None
        if self.pressure is not None and w.role != "deliver":
            pressure_fd = self.pressure.fd
            spec["pressure"] = (pressure_fd, self.pressure.processes)
            if w.role == "front":
                self.pressure.reset(w.shard)  # its predecessor may have died with requests in flight
        env = dict(os.environ)
        # the name in the command line only tells the processes apart in ps and /proc
        proc = subprocess.Popen([sys.executable, "-m", FRONT_MODULE if w.role == "front" else __name__, w.name],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                pass_fds=tuple(fd for fd in (self.lock_fd, w.fd, pressure_fd) if fd is not None))
        assert proc.stdin is not None
        proc.stdin.write(pickle.dumps(spec))
        proc.stdin.flush()
        if w.role != "front":  # a front's stdin stays open: the backlog's size goes there
            proc.stdin.close()
        w.proc, w.report, w.consumed, w.appended, w.started = proc, {}, 0, 0, time.monotonic()
        threading.Thread(target=self._read, args=(w, proc), name=f"amprelay-{w.name}-reports", daemon=True).start()

    def _read(self, w: _Worker, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                report = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            with self._lock:
                if w.proc is not proc:
                    break
                w.report = report
                consumed, appended = int(report.get("consumed_bytes", 0)), int(report.get("appended_bytes", 0))
                delta = (appended - w.appended) - (consumed - w.consumed)
                w.consumed, w.appended = consumed, appended
            if delta and self.on_backlog is not None:
                self.on_backlog(delta)

    def _tell_fronts(self) -> None:
        if self.backlog is None:
            return
        line = b"%d\n" % self.backlog()
        for w in self.workers:
            proc = w.proc
            if w.role == "front" and proc is not None and proc.stdin is not None and not proc.stdin.closed:
                with contextlib.suppress(OSError, ValueError):
                    proc.stdin.write(line)
                    proc.stdin.flush()

    def _watch(self) -> None:
        for w in self.workers:
            self._spawn(w)
        told = 0.0
        while not self._stop.wait(0.1):
            if time.monotonic() - told >= REPORT_SECONDS:
                told = time.monotonic()
                self._tell_fronts()
            for w in self.workers:
                proc = w.proc
                if proc is None or proc.poll() is None or self._stop.is_set():
                    continue
                with self._lock:
                    self._retire(w)
                    w.proc = None
                if w.name in self._restarting:  # a reload: it stopped as asked
                    self._restarting.discard(w.name)
                else:
                    w.restarts += 1
                    log.error("worker %s exited with %s; restarting it", w.name, proc.returncode)
                    if time.monotonic() - w.started < 5 and self._stop.wait(min(5.0, 0.2 * w.restarts)):
                        break
                if not self._stop.is_set():
                    self._spawn(w)
        self._gone.wait()  # keep this thread (the workers' parent thread) until they have exited

    def _retire(self, w: _Worker) -> None:
        counters = [f for f in w.report.get("metrics", []) if f[1] != "gauge"]
        if counters:
            self._retired.append(counters)
        w.report = {}

    def stop(self, timeout: float = 35.0) -> None:
        """SIGTERM every worker (mappers finish their transaction, delivery its rounds in flight)
        and wait for them."""
        self._stop.set()
        while self._monitor is not None and self._monitor.is_alive() and not self._spawned_all():
            time.sleep(0.01)  # still starting them
        procs = [w.proc for w in self.workers if w.proc is not None]
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._gone.set()
        if self._monitor is not None:
            self._monitor.join(5)

    def _spawned_all(self) -> bool:
        return all(w.started for w in self.workers)

    def restart(self, config: Any) -> None:
        """A new config (reload): each worker in turn stops gracefully and the monitor starts it
        again with the new config (the inbox and the queue keep what is in between)."""
        self.config = config
        # self.rule stays: changing how messages are split needs every mapper stopped (a restart)
        for w in self.workers:
            proc = w.proc
            if proc is None:
                continue
            self._restarting.add(w.name)
            proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 40
            while w.proc is proc and time.monotonic() < deadline:
                time.sleep(0.02)

    # what the main process shows

    def pids(self) -> dict[str, int]:
        return {w.name: w.proc.pid for w in self.workers if w.proc is not None}

    def problem(self) -> str | None:
        """Why the relay is not ready because of a worker (one that cannot write the store)."""
        with self._lock:
            for w in self.workers:
                err = w.report.get("write_error")
                if err:
                    return f"worker {w.name}: {err}"
        return None

    def leased(self) -> int:
        with self._lock:
            return sum(int(w.report.get("leased", 0)) for w in self.workers)

    def snapshots(self) -> list[Snapshot]:
        with self._lock:
            return [*self._retired, *(w.report["metrics"] for w in self.workers if w.report.get("metrics"))]


def snapshot(registry: Any) -> Snapshot:
    """A registry's samples as JSON-able data (a worker's report)."""
    return [[f.name, f.type, f.documentation, [[s.name, s.labels, s.value] for s in f.samples]]
            for f in registry.collect()]


class MergedMetrics:
    """A collector (for ``generate_latest``) of the main process's metrics plus the workers':
    counters and histograms are summed, ``_created`` is the earliest; a gauge the main process
    sets (queue and inbox depth, which it reads from the store) is its own, other gauges come
    from the workers."""

    def __init__(self, registry: Any, snapshots: Iterable[Snapshot]):
        self.registry = registry
        self.snapshots = list(snapshots)

    def collect(self):
        from prometheus_client.metrics_core import Metric

        families: dict[str, tuple[str, str, dict[tuple, float]]] = {}
        own: set[tuple] = set()
        for f in self.registry.collect():
            samples = families.setdefault(f.name, (f.type, f.documentation, {}))[2]
            for s in f.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                samples[key] = s.value
                own.add(key)
        for snap in self.snapshots:
            for name, typ, doc, rows in snap:
                samples = families.setdefault(name, (typ, doc, {}))[2]
                for sname, labels, value in rows:
                    key = (sname, tuple(sorted(labels.items())))
                    if sname.endswith("_created"):
                        samples[key] = min(samples.get(key, value), value)
                    elif typ == "gauge":
                        if key not in own:
                            samples[key] = value
                    else:
                        samples[key] = samples.get(key, 0.0) + value
        for name, (typ, doc, samples) in families.items():
            m = Metric(name, doc, typ)
            for (sname, labels), value in samples.items():
                m.add_sample(sname, dict(labels), value)
            yield m


# -- the worker's side ---------------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """SIGKILL this process when the main process dies (Linux), and check its pid as well."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="amprelay-parent-watch", daemon=True).start()


def report(out, registry: Any, **fields: Any) -> None:
    """One report line on a worker's report channel (its stdout)."""
    out.write(orjson.dumps({"metrics": snapshot(registry), **fields}) + b"\n")
    out.flush()


def _map(spec: dict[str, Any], stop: threading.Event, out) -> None:
    from amprelay.delivery.metrics import Metrics
    from amprelay.relay.inbox import InboxProcessor, Shard
    from amprelay.relay.runtime import Relay
    from amprelay.store import api_keys_of, sqlite_path
    from amprelay.store.inbox import SQLiteInbox
    from amprelay.store.sqlite import SQLiteQueue
    from amprelay.store.sqlitedb import SQLiteDatabase

    config = spec["config"]
    db = SQLiteDatabase(sqlite_path(config.queue, config.data_dir), shared=True)
    queue = SQLiteQueue(db)
    queue.set_api_keys(api_keys_of(config.destinations))
    inbox = SQLiteInbox(db)
    metrics = Metrics()
    relay = Relay(config, queue, metrics, inbox=inbox)
    pressure = shared_pressure(spec)
    processor = InboxProcessor(inbox, relay.process_inbox, relay.store,
                               shard=Shard(spec["shard"], spec["shards"], spec["rule"] == "session"),
                               pressure=pressure, **(BESIDE_INGEST_PROCESSES if pressure else {"idle_wait": 0.01}))
    processor.start()
    try:
        while not stop.wait(REPORT_SECONDS):
            report(out, metrics.registry, write_error=db.write_error, last_error=processor.last_error,
                    consumed_bytes=processor.consumed_bytes)
    finally:
        processor.stop()
        if relay.sessions is not None:
            relay.sessions.close()
        inbox.close()
        queue.close()
        db.close()


def _deliver(spec: dict[str, Any], stop: threading.Event, out) -> None:
    import asyncio

    from amprelay.delivery.metrics import Metrics
    from amprelay.delivery.service import DeliveryService
    from amprelay.delivery.settings import DeliverySettings
    from amprelay.store import api_keys_of, sqlite_path
    from amprelay.store.sqlite import SQLiteQueue
    from amprelay.store.sqlitedb import SQLiteDatabase

    config = spec["config"]
    db = SQLiteDatabase(sqlite_path(config.queue, config.data_dir), shared=True)
    queue = SQLiteQueue(db)
    queue.set_api_keys(api_keys_of(config.destinations))
    metrics = Metrics()
    # no wake-up crosses processes: poll an empty queue often (one indexed read)
    service = DeliveryService(queue, {d.name: d.stable_insert_id for d in config.destinations}, config.delivery.amplitude_url,
                              settings=DeliverySettings.from_config(config.delivery, poll_seconds=0.05),
                              metrics=metrics, worker_id="local")

    async def main() -> None:
        await service.start()
        try:
            while not stop.is_set():
                await asyncio.sleep(REPORT_SECONDS)
                report(out, metrics.registry, write_error=db.write_error, leased=queue.leased_count)
        finally:
            await service.stop(graceful=True)

    try:
        asyncio.run(main())
    finally:
        queue.close()
        db.close()


def shared_pressure(spec: dict[str, Any]) -> SharedPressure | None:
    """The ingest processes' shared requests-in-flight page a worker was given, if any."""
    if "pressure" not in spec:
        return None
    fd, slots = spec["pressure"]
    return SharedPressure(fd, slots)


def start_worker() -> tuple[dict[str, Any], Any]:
    """A worker process's first steps: its spec read from stdin, tied to the main process,
    logging set up, the heap settled. Returns the spec and the report channel (stdout)."""
    spec = pickle.load(sys.stdin.buffer)
    _die_with_parent(spec["parent"])
    from amprelay.engine import settle_heap
    from amprelay.logs import setup_logging

    setup_logging(spec.get("log_level", "warning"))
    settle_heap()  # as the main process does (RelayService.run)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write on the report channel
    return spec, out


def worker_main() -> int:
    spec, out = start_worker()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    (_map if spec["role"] == "map" else _deliver)(spec, stop, out)
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
