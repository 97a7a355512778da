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
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _procs import free_port, peak_rss_kb, wait_http  # noqa: E402

AMPRELAY = str(Path(sys.executable).with_name("amprelay"))
WRITE_KEY = "bench-write-key"


def load_generator(url: str, rate: float, duration: float, batch: int, concurrency: int, seed: int, out) -> None:
    import httpx
    from corpus import generate

    events = generate(4000, seed)
    bodies = []
    for i in range(0, len(events), batch):
        chunk = events[i:i + batch]
        if len(chunk) == batch:
            bodies.append(orjson.dumps({"batch": chunk}))
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    headers = {"content-type": "application/json", "authorization": auth}

    async def main() -> dict:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        sent = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            interval = batch / rate if rate > 0 else 0.0
            start = time.perf_counter()
            sem = asyncio.Semaphore(concurrency * 4)
            tasks = []

            async def one(body: bytes) -> None:
                nonlocal sent
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/batch", content=body, headers=headers)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    if r.status_code == 200:
                        sent += batch
                except httpx.HTTPError:
                    statuses[-1] = statuses.get(-1, 0) + 1
                latencies.append(time.perf_counter() - t0)
                sem.release()

            i = 0
            while True:
                now = time.perf_counter() - start
                if now >= duration:
                    break
                if interval:
                    due = i * interval
                    if due > now:
                        await asyncio.sleep(due - now)
                await sem.acquire()
                tasks.append(asyncio.create_task(one(bodies[i % len(bodies)])))
                i += 1
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - start
        return {"latencies": latencies, "statuses": statuses, "accepted": sent, "elapsed": elapsed}

    out.put(asyncio.run(main()))


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=20000, help="events/s to offer (0: as fast as possible)")
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--batch", type=int, default=100, help="events per /v1/batch request")
    ap.add_argument("--concurrency", type=int, default=16, help="connections")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="amprelay-bench-ingest-"))
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
server: {{host: 127.0.0.1, port: {relay_port}}}
delivery: {{amplitude_url: "http://127.0.0.1:{fake_port}"}}
""")
    relay = subprocess.Popen([AMPRELAY, "serve", "--config", str(config), "--log-level", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    finally:
        for p in (relay, fake):
            p.send_signal(signal.SIGTERM)
        for p in (relay, fake):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
