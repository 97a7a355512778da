"""How many events per second the fake Amplitude accepts.

    .venv/bin/python bench/fakeamp_throughput.py [--seconds 10] [--batch 2000] [--concurrency 4]
        [--path /batch] [--record FILE] [--in-thread]

Starts the fake as a separate process (as benchmarks of the relay use it), then posts pre-encoded
batches of realistic events (unique insert_ids, ~20 keys each) from asyncio clients and prints
events/s, requests/s and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
import orjson

from amprelay.fakeamp import run_in_thread, start_process


def make_event(i: int) -> dict:
    return {
        "event_type": "Order Completed",
        "user_id": f"user-{i % 5000:05d}",
        "device_id": f"device-{i % 7000:05d}",
        "time": 1_700_000_000_000 + i,
        "insert_id": f"RUNMARK-{i:09d}",
        "session_id": 1_700_000_000_000,
        "event_properties": {"order_id": f"o-{i}", "total": 42.5, "currency": "USD", "products": [{"sku": "a"}]},
        "user_properties": {"$set": {"plan": "pro", "email": f"u{i}@example.com"}},
        "platform": "Web",
        "os_name": "Mac OS",
        "os_version": "119",
        "device_model": "Mac OS",
        "language": "en-US",
        "ip": "203.0.113.7",
        "library": "segment",
        "country": "US",
        "city": "San Francisco",
        "app_version": "1.2.3",
    }


def make_bodies(count: int, batch: int) -> list[bytes]:
    out = []
    for b in range(count):
        events = [make_event(b * batch + i) for i in range(batch)]
        out.append(orjson.dumps({"api_key": "bench-key", "events": events}))
    return out


async def worker(client, path, bodies, stop_at, latencies, counts, offset):
    i = offset
    rounds = 0
    while time.perf_counter() < stop_at:
        raw = bodies[i % len(bodies)]
        if i and i % len(bodies) == 0:
            rounds += 1
        # unique insert_ids on every pass, so dedupe never short-cuts the work
        payload = raw.replace(b"RUNMARK", f"R{offset:03d}{rounds:03d}".encode())
        t0 = time.perf_counter()
        r = await client.post(path, content=payload, headers={"content-type": "application/json"})
        latencies.append(time.perf_counter() - t0)
        counts[r.status_code] = counts.get(r.status_code, 0) + 1
        i += 1


async def run(url, path, bodies, seconds, concurrency, batch):
    latencies: list[float] = []
    counts: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        # warm up
        await client.post(path, content=bodies[0], headers={"content-type": "application/json"})
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(
            *(worker(client, path, bodies, stop_at, latencies, counts, k * 7 + 1) for k in range(concurrency))
        )
        elapsed = time.perf_counter() - start
    ok = counts.get(200, 0)
    latencies.sort()
    print(f"path={path} batch={batch} concurrency={concurrency} seconds={elapsed:.1f} statuses={counts}")
    print(f"events/s accepted: {ok * batch / elapsed:,.0f}")
    print(f"requests/s: {sum(counts.values()) / elapsed:,.1f}")
    if latencies:
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
        print(f"latency ms: p50={p(0.5):.1f} p99={p(0.99):.1f} mean={statistics.mean(latencies) * 1000:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--path", default="/batch")
    ap.add_argument("--record", default=None)
    ap.add_argument("--in-thread", action="store_true", help="run the fake in this process instead")
    args = ap.parse_args()
    bodies = make_bodies(20, args.batch)
    print(f"body size: {len(bodies[0]):,} bytes for {args.batch} events")
    if args.in_thread:
        fake = run_in_thread(record_path=args.record, max_body_bytes=0)
    else:
        fake = start_process(record_path=args.record, max_body_bytes=0)
    try:
        asyncio.run(run(fake.url, args.path, bodies, args.seconds, args.concurrency, args.batch))
        stats = fake.stats()
        print(f"server: events_accepted={stats['events_accepted']:,} records_total={stats['records_total']:,}")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
