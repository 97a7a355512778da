"""Ingest benchmark: events/s accepted durably through POST /v1/batch, and request latency at a
steady rate, with the load generated from a second process on loopback.

    .venv/bin/python bench/ingest.py                       # steady 20,000 events/s for 15 s
    .venv/bin/python bench/ingest.py --rate 0 --duration 10   # as fast as it goes

Starts the local Amplitude (`amprelay fake-amplitude`) and `amprelay serve` (embedded SQLite
store, fsync'd) as subprocesses, then a load-generator process that posts batches of realistic
events (bench/corpus.py) on a fixed schedule over several connections and records each request's
latency. Prints accepted events/s, p50/p90/p99/max latency, and the relay's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _procs import BENCH_WRITE_KEY as WRITE_KEY  # noqa: E402
from _procs import cpu_seconds, free_port, ingest_bench_config, peak_rss_kb, stop_all, wait_http  # noqa: E402

AMPRELAY = str(Path(sys.executable).with_name("amprelay"))


def build_requests(netloc: str, endpoint: str, batch: int, seed: int) -> list[bytes]:
    """Pre-built HTTP/1.1 requests from the corpus: ``batch`` events per /v1/batch request, or
    (``endpoint`` "track") one track event per /v1/track request."""
    from corpus import generate

    events = generate(4000, seed)
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    bodies: list[bytes] = []
    if endpoint == "track":
        bodies = [orjson.dumps(e) for e in events if e.get("type") == "track"]
    else:
        for i in range(0, len(events) - batch + 1, batch):
            bodies.append(orjson.dumps({"batch": events[i:i + batch]}))
    return [(f"POST /v1/{endpoint} HTTP/1.1\r\nHost: {netloc}\r\nContent-Type: application/json\r\n"
             f"Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body for body in bodies]


class _Client(asyncio.Protocol):
    """One keep-alive connection: writes a request, resolves ``waiter`` with the answer's status
    once its whole body is in (Content-Length framed, as the relay answers)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if len(self.buf) < end + 4 + length:
            return
        del self.buf[:end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))


def load_generator(url: str, rate: float, duration: float, batch: int, concurrency: int, seed: int, out,
                   endpoint: str = "batch") -> None:
    """Posts pre-built requests (:func:`build_requests`) on a fixed schedule over ``concurrency``
    keep-alive connections with a minimal HTTP/1.1 client (an asyncio protocol, on uvloop when
    installed): cheap enough that the generator is not what limits the relay (httpx spent a whole
    core at 20,000 events/s). ``rate``: events/s (with ``endpoint`` "track", one a request)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    per_request = batch if endpoint != "track" else 1
    requests = build_requests(parts.netloc, endpoint, batch, seed)

    async def connect() -> _Client:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(_Client, parts.hostname, parts.port)
        return proto

    async def post(conn: list, data: bytes) -> int:
        if conn[0] is None or conn[0].transport is None:
            conn[0] = await connect()
        client = conn[0]
        client.waiter = asyncio.get_running_loop().create_future()
        client.transport.write(data)
        return await client.waiter

    async def main() -> dict:
        latencies: list[float] = []
        statuses: dict[int | str, int] = {}
        sent = 0
        interval = per_request / rate if rate > 0 else 0.0
        start = time.perf_counter()
        total = int(duration / interval) if interval else 0  # requests on the schedule
        deadline = start + max(10.0, duration) + duration  # what has not gone out by then is not sent
        next_index = 0

        async def connection() -> None:
            # Each connection takes the next request of the schedule, waits until it is due, sends
            # it and reads the answer. Latency counts from when the request was due, waiting for a
            # free connection included (no coordinated omission). --rate 0: no schedule, each
            # connection posts again as soon as it is answered.
            nonlocal sent, next_index
            conn: list = [None]
            while True:
                i = next_index
                next_index += 1
                now = time.perf_counter()
                if interval:
                    if i >= total:
                        return
                    due = start + i * interval
                    if due > now:
                        await asyncio.sleep(due - now)
                    elif now > deadline:
                        statuses["unsent"] = statuses.get("unsent", 0) + 1
                        continue
                else:
                    if now - start >= duration:
                        return
                    due = now
                try:
                    status = await post(conn, requests[i % len(requests)])
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 200:
                        sent += per_request
                except (OSError, ValueError) as exc:  # counted by kind: ConnectionRefusedError, ...
                    statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                    if conn[0] is not None and conn[0].transport is not None:
                        conn[0].transport.close()
                    conn[0] = None
                latencies.append(time.perf_counter() - due)

        await asyncio.gather(*(connection() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        return {"latencies": latencies, "statuses": statuses, "accepted": sent, "elapsed": elapsed}

    try:
        import uvloop
        run = uvloop.run
    except ImportError:
        run = asyncio.run
    out.put(run(main()))


def relay_backlog(metrics_url: str) -> tuple[float, float]:
    """(inbox depth, queue depth) from the relay's /metrics."""
    inbox = depth = 0.0
    for line in urlopen(metrics_url).read().decode().splitlines():
        if line.startswith("amprelay_inbox_depth "):
            inbox = float(line.split()[-1])
        elif line.startswith("amprelay_queue_depth{"):
            depth += float(line.split()[-1])
    return inbox, depth


def relay_cpu(pid: int) -> float:
    """CPU seconds of the relay: its main process and any worker processes (``--workers``)."""
    total = cpu_seconds(pid)
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += sum(cpu_seconds(int(c)) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return total


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")


def start_relay(name: str, workers: int = 0,
                ingest_processes: int = 0) -> tuple[subprocess.Popen, subprocess.Popen, int, int]:
    """The Amplitude stand-in and `amprelay serve [--workers N] [--ingest-processes M]` (embedded store in a temporary
    dir), as processes: (stand-in, relay, stand-in's port, relay's port)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"amprelay-bench-{name}-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # after the relay is stopped (the bench's finally)
    fake_port, relay_port = free_port(), free_port()
    fake = subprocess.Popen([AMPRELAY, "fake-amplitude", "--port", str(fake_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    config = tmp / "amprelay.yaml"
    config.write_text(ingest_bench_config(tmp / "data", relay_port, workers, f"http://127.0.0.1:{fake_port}",
                                          ingest_processes))
    relay = subprocess.Popen([AMPRELAY, "serve", "--config", str(config), "--log-level", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return fake, relay, fake_port, relay_port


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", choices=["batch", "track"], default="batch",
                    help="batch: --batch events per /v1/batch request; track: one event per /v1/track request")
    ap.add_argument("--rate", type=float, default=None,
                    help="events/s to offer (0: as fast as possible; default 20000, with --endpoint track 6000)")
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--batch", type=int, default=100, help="events per /v1/batch request")
    ap.add_argument("--concurrency", type=int, default=None, help="connections (default 16, with track 64)")
    ap.add_argument("--workers", type=int, default=0, help="serve --workers (0: one process)")
    ap.add_argument("--ingest-processes", type=int, default=0, help="serve --ingest-processes (0: ingest in the main one)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    track = args.endpoint == "track"
    rate = args.rate if args.rate is not None else (6000 if track else 20000)
    concurrency = args.concurrency or (64 if track else 16)
    per_request = 1 if track else args.batch

    fake, relay, fake_port, relay_port = start_relay("ingest", args.workers, args.ingest_processes)
    try:
        wait_http(f"http://127.0.0.1:{fake_port}/_fake/health")
        wait_http(f"http://127.0.0.1:{relay_port}/health")
        q: mp.Queue = mp.get_context("spawn").Queue()
        gen = mp.get_context("spawn").Process(
            target=load_generator,
            args=(f"http://127.0.0.1:{relay_port}", rate, args.duration, args.batch, concurrency,
                  args.seed, q, args.endpoint))
        cpu0 = relay_cpu(relay.pid)
        gen.start()
        result = q.get(timeout=args.duration + 120)
        cpu1 = relay_cpu(relay.pid)
        gen.join()
        lat = result["latencies"]
        n = len(lat)
        shape = "1 event per /v1/track request" if track else f"{args.batch} events per /v1/batch request"
        print(f"offered rate      : {'max' if not rate else f'{rate:,.0f} events/s'} "
              f"({shape}, {concurrency} connections, {args.duration:.0f} s, serve --workers {args.workers} --ingest-processes {args.ingest_processes})")
        print(f"accepted (durable): {result['accepted']:,} events in {result['elapsed']:.1f} s = "
              f"{result['accepted'] / result['elapsed']:,.0f} events/s, "
              f"{result['accepted'] / per_request / result['elapsed']:,.0f} requests/s")
        print(f"requests          : {n:,}  statuses {result['statuses']}")
        print(f"latency           : p50 {pct(lat, 50) * 1000:.1f} ms  p90 {pct(lat, 90) * 1000:.1f} ms  "
              f"p99 {pct(lat, 99) * 1000:.1f} ms  max {max(lat) * 1000:.1f} ms")
        print(f"relay peak RSS    : {peak_rss_kb(relay.pid) / 1024:.0f} MiB")
        # What the burst left to do: ingest gives way to nothing, the processor catches up after.
        t0 = time.perf_counter()
        backlog = None
        while time.perf_counter() - t0 < 60:  # the bench stays under 2 minutes
            inbox, depth = relay_backlog(f"http://127.0.0.1:{relay_port}/metrics")
            if backlog is None:
                backlog = inbox
            if inbox == 0 and depth == 0:
                break
            time.sleep(1.0)  # each /metrics counts the queue's units: scraping it faster costs the relay CPU
        took = time.perf_counter() - t0
        cpu2 = relay_cpu(relay.pid)
        stats = orjson.loads(urlopen(f"http://127.0.0.1:{fake_port}/_fake/stats").read())
        print(f"relay CPU         : {(cpu1 - cpu0) / max(1, n) * 1e6:,.0f} µs per request during the load "
              f"({(cpu1 - cpu0) / result['elapsed'] * 100:.0f}% of a core), "
              f"{(cpu2 - cpu0) / max(1, n) * 1e6:,.0f} µs per request with the mapping and delivery after it")
        if inbox or depth:
            print(f"after the load    : {backlog:.0f} requests' worth of messages still to map; NOT drained "
                  f"{took:.0f} s later ({inbox:.0f} inbox rows, {depth:.0f} units queued): the rest is not measured")
        else:
            print(f"after the load    : {backlog:.0f} requests' worth of messages still to map; mapped and "
                  f"delivered {took:.1f} s later")
        if not (inbox or depth):
            print(f"end to end        : {result['accepted']:,} events accepted, mapped and delivered in "
                  f"{result['elapsed'] + took:.1f} s = {result['accepted'] / (result['elapsed'] + took):,.0f} events/s"
                  f" (the Amplitude stand-in received {stats['events_received']:,} events and identifications; "
                  f"the corpus repeats, so it kept {stats['events_accepted']:,} unique by insert_id)")
    finally:
        stop_all([relay, fake], 30)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
