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
import base64
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _procs import free_port, peak_rss_kb, stop_all, wait_http  # noqa: E402

AMPRELAY = str(Path(sys.executable).with_name("amprelay"))
WRITE_KEY = "bench-write-key"


def load_generator(url: str, rate: float, duration: float, batch: int, concurrency: int, seed: int, out) -> None:
    """Posts pre-built requests over ``concurrency`` keep-alive connections with a minimal HTTP/1.1
    client on asyncio streams: cheap enough that the generator is not what limits the relay
    (httpx spent a whole core at 20,000 events/s)."""
    from urllib.parse import urlsplit

    from corpus import generate

    events = generate(4000, seed)
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    parts = urlsplit(url)
    requests = []
    for i in range(0, len(events), batch):
        chunk = events[i:i + batch]
        if len(chunk) == batch:
            body = orjson.dumps({"batch": chunk})
            head = (f"POST /v1/batch HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                    f"Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            requests.append(head + body)

    async def post(conn: list, data: bytes) -> int:
        if conn[0] is None:
            conn[0], conn[1] = await asyncio.open_connection(parts.hostname, parts.port)
        reader, writer = conn[0], conn[1]
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        return status

    async def main() -> dict:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        sent = 0
        pool: asyncio.Queue = asyncio.Queue()
        for _ in range(concurrency):
            pool.put_nowait([None, None])
        interval = batch / rate if rate > 0 else 0.0
        start = time.perf_counter()
        tasks = []

        async def one(data: bytes, t0: float) -> None:
            # latency counts from when the request was due, waiting for a connection included
            # (no coordinated omission)
            nonlocal sent
            conn = await pool.get()
            try:
                status = await post(conn, data)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    sent += batch
            except (OSError, asyncio.IncompleteReadError, ValueError):
                statuses[-1] = statuses.get(-1, 0) + 1
                if conn[1] is not None:
                    conn[1].close()
                conn[0] = conn[1] = None
            latencies.append(time.perf_counter() - t0)
            pool.put_nowait(conn)

        i = 0
        while True:
            now = time.perf_counter() - start
            if now >= duration:
                break
            if interval:
                due = i * interval
                if due > now:
                    await asyncio.sleep(due - now)
            elif pool.empty():
                await asyncio.sleep(0)
                continue
            tasks.append(asyncio.create_task(one(requests[i % len(requests)], start + (i * interval if interval
                                                                                          else now))))
            i += 1
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        return {"latencies": latencies, "statuses": statuses, "accepted": sent, "elapsed": elapsed}

    out.put(asyncio.run(main()))


def relay_backlog(metrics_url: str) -> tuple[float, float]:
    """(inbox depth, queue depth) from the relay's /metrics."""
    inbox = depth = 0.0
    for line in urlopen(metrics_url).read().decode().splitlines():
        if line.startswith("amprelay_inbox_depth "):
            inbox = float(line.split()[-1])
        elif line.startswith("amprelay_queue_depth{"):
            depth += float(line.split()[-1])
    return inbox, depth


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")


def start_relay(name: str, workers: int = 0) -> tuple[subprocess.Popen, subprocess.Popen, int, int]:
    """The Amplitude stand-in and `amprelay serve [--workers N]` (embedded store in a temporary
    dir), as processes: (stand-in, relay, stand-in's port, relay's port)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"amprelay-bench-{name}-"))
    fake_port, relay_port = free_port(), free_port()
    fake = subprocess.Popen([AMPRELAY, "fake-amplitude", "--port", str(fake_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    config = tmp / "amprelay.yaml"
    config.write_text(f"""
data_dir: {tmp / 'data'}
sources: [{{name: bench, write_key: {WRITE_KEY}}}]
destinations:
  - name: amplitude
    settings: {{apiKey: bench-api-key-0000000000000001, secretKey: s, endpoint: north_america}}
    presets: true
server: {{host: 127.0.0.1, port: {relay_port}, workers: {workers}}}
delivery: {{amplitude_url: "http://127.0.0.1:{fake_port}"}}
ingest: {{dedupe_window: 0}}  # the corpus repeats its messageIds: measure mapping, not the dedupe
""")
    relay = subprocess.Popen([AMPRELAY, "serve", "--config", str(config), "--log-level", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return fake, relay, fake_port, relay_port


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=20000, help="events/s to offer (0: as fast as possible)")
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--batch", type=int, default=100, help="events per /v1/batch request")
    ap.add_argument("--concurrency", type=int, default=16, help="connections")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    fake, relay, fake_port, relay_port = start_relay("ingest")
    try:
        wait_http(f"http://127.0.0.1:{fake_port}/_fake/health")
        wait_http(f"http://127.0.0.1:{relay_port}/health")
        q: mp.Queue = mp.get_context("spawn").Queue()
        gen = mp.get_context("spawn").Process(
            target=load_generator,
            args=(f"http://127.0.0.1:{relay_port}", args.rate, args.duration, args.batch, args.concurrency,
                  args.seed, q))
        gen.start()
        result = q.get(timeout=args.duration + 120)
        gen.join()
        lat = result["latencies"]
        print(f"offered rate      : {'max' if not args.rate else f'{args.rate:,.0f} events/s'} "
              f"({args.batch} events per request, {args.concurrency} connections, {args.duration:.0f} s)")
        print(f"accepted (durable): {result['accepted']:,} events in {result['elapsed']:.1f} s = "
              f"{result['accepted'] / result['elapsed']:,.0f} events/s")
        print(f"requests          : {len(lat):,}  statuses {result['statuses']}")
        print(f"latency           : p50 {pct(lat, 50) * 1000:.1f} ms  p90 {pct(lat, 90) * 1000:.1f} ms  "
              f"p99 {pct(lat, 99) * 1000:.1f} ms  max {max(lat) * 1000:.1f} ms")
        print(f"relay peak RSS    : {peak_rss_kb(relay.pid) / 1024:.0f} MiB")
        # What the burst left to do: ingest gives way to nothing, the processor catches up after.
        t0 = time.perf_counter()
        backlog = None
        while time.perf_counter() - t0 < 300:
            inbox, depth = relay_backlog(f"http://127.0.0.1:{relay_port}/metrics")
            if backlog is None:
                backlog = inbox
            if inbox == 0 and depth == 0:
                break
            time.sleep(0.2)
        took = time.perf_counter() - t0
        stats = orjson.loads(urlopen(f"http://127.0.0.1:{fake_port}/_fake/stats").read())
        print(f"after the load    : {backlog:.0f} requests' worth of messages still to map; mapped and "
              f"delivered {took:.1f} s later")
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
