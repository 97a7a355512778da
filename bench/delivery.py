#!/usr/bin/env python3
"""Sustained delivery rate to the local Amplitude over loopback, durable queue on.

    .venv/bin/python bench/delivery.py [--events 300000] [--seconds 20] [--chunk 500]
        [--producers 1] [--concurrency 4] [--linger-ms 50] [--rate 0] [--prefill] [--dir DIR]

The fake Amplitude runs as a separate process. In this process a producer thread enqueues
realistic logEventV2-shaped events through ``DeliveryService.enqueue_many`` (chunks of
``--chunk`` messages per transaction, each commit fsync'd: ``PRAGMA synchronous=FULL`` in WAL
mode, as the server's ingest batches do) while the delivery loops lease, batch, send and settle.
``--rate`` caps the producer (events/s; 0 = as fast as it goes).

Prints: events enqueued and delivered per second over the measured window, Amplitude's count of
accepted events, request and batch-size figures, p50/p99/max time from enqueue to Amplitude's
acceptance, and the peak RSS of this process (the relay side).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time

from amprelay.delivery import DeliveryService, DeliverySettings, EnqueueItem
from amprelay.destination.request import AmplitudeRequest
from amprelay.fakeamp import start_process
from amprelay.store.sqlite import SQLiteQueue


def events_request(body: dict) -> AmplitudeRequest:
    return AmplitudeRequest("POST", "https://api2.amplitude.com/2/httpapi", "json", json=body)


def make_event(i: int) -> dict:
    return {
        "os_name": "iOS",
        "os_version": "17",
        "device_manufacturer": "Apple",
        "device_model": "iPhone",
        "device_type": "mobile",
        "user_id": f"user-{i % 5000:05d}",
        "device_id": f"device-{i % 7000:05d}",
        "event_type": "Song Played",
        "time": 1_700_000_000_000 + i,
        "event_properties": {"title": "Cosmic Drift", "artist": "Nova", "duration_ms": 215000, "position": i % 50},
        "ip": "203.0.113.7",
        "platform": "iOS",
        "language": "en-US",
        "session_id": 1_700_000_000_000 + (i // 20),
        "library": "analytics-ios",
    }


class _Record:
    """The bench's delivery observer: the size of every request sent, and each delivered
    unit's seconds from enqueue to Amplitude's acceptance."""

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []
        self.latencies: list[float] = []

    def on_answer(self, destination, url, status, error, entries, leases, now) -> None:
        self.batch_sizes.append(entries)

    def on_settled(self, outcomes, now) -> None:
        self.latencies.extend(max(0.0, now - u.created_at) for u, settled, _ in outcomes if settled == "delivered")


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def percentile(sorted_vals: list[float], p: float) -> float:
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, round(p / 100 * (len(sorted_vals) - 1))))
    return sorted_vals[k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=300_000, help="events to enqueue in all")
    ap.add_argument("--seconds", type=float, default=20.0, help="stop producing after this long")
    ap.add_argument("--chunk", type=int, default=500, help="messages per enqueue transaction")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--linger-ms", type=float, default=50.0)
    ap.add_argument("--rate", type=float, default=0.0, help="producer cap in events/s (0: none)")
    ap.add_argument("--lease-units", type=int, default=4000)
    ap.add_argument("--dir", default=None, help="where the SQLite file goes (kept; default: a temp dir, removed)")
    ap.add_argument("--prefill", action="store_true",
                    help="enqueue everything first (timed on its own), then time delivery alone")
    ap.add_argument("--producers", type=int, default=1, help="producer threads (ingest requests in parallel)")
    args = ap.parse_args()

    fake = start_process(max_records=10_000)
    tmp = tempfile.mkdtemp(prefix="amprelay-bench-", dir=args.dir)
    queue = SQLiteQueue(os.path.join(tmp, "amprelay.sqlite3"))
    sync = queue._conn.execute("PRAGMA synchronous").fetchone()[0]
    settings = DeliverySettings(concurrency=args.concurrency, linger_ms=args.linger_ms, lease_units=args.lease_units)
    record = _Record()
    svc = DeliveryService(queue, {"amp": True}, fake.url, settings=settings, observer=record)
    enqueued = [0]
    stop_producing = threading.Event()
    t_start = [0.0]
    t_end_produce = [0.0]

    next_chunk = [0]
    chunk_lock = threading.Lock()
    t0_produce = [0.0]

    def producer() -> None:
        t0 = t0_produce[0]
        while not stop_producing.is_set():
            with chunk_lock:
                i = next_chunk[0]
                if i >= args.events:
                    break
                n = min(args.chunk, args.events - i)
                next_chunk[0] = i + n
            items = [EnqueueItem("amp", f"msg-{j}", [events_request({"api_key": "bench-key", "events": [make_event(j)]})],
                                 "Track Calls") for j in range(i, i + n)]
            svc.enqueue_many(items)
            with chunk_lock:
                enqueued[0] += n
            if args.rate > 0:
                ahead = next_chunk[0] / args.rate - (time.perf_counter() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            if time.perf_counter() - t0 > args.seconds:
                break
        t_end_produce[0] = max(t_end_produce[0], time.perf_counter())

    def produce_all() -> None:
        t0_produce[0] = time.perf_counter()
        threads = [threading.Thread(target=producer, daemon=True) for _ in range(args.producers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    async def run() -> None:
        if args.prefill:
            await asyncio.to_thread(produce_all)
        await svc.start()
        t_start[0] = time.perf_counter()
        if not args.prefill:
            t_start[0] = time.perf_counter()
            th = threading.Thread(target=produce_all, daemon=True)
            th.start()
            while th.is_alive():
                await asyncio.sleep(0.2)
        # drain what is left
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            if (await asyncio.to_thread(queue.stats)).depth == 0:
                break
            await asyncio.sleep(0.05)
        await svc.stop()

    cpu0 = time.process_time()  # with --prefill this includes the enqueue phase
    fake_cpu0 = proc_cpu(fake.process.pid)
    asyncio.run(run())
    t_done = time.perf_counter()
    relay_cpu = time.process_time() - cpu0
    fake_cpu = proc_cpu(fake.process.pid) - fake_cpu0
    lat = sorted(record.latencies)
    sizes = record.batch_sizes
    st = fake.stats()
    accepted = st["events_accepted"]
    duplicates = st["duplicates"]
    reqs = sum(sum(v for v in per.values()) for per in st["requests"].values())
    produce_s = t_end_produce[0] - t0_produce[0]
    total_s = t_done - t_start[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"durable queue: SQLite WAL, synchronous={['OFF', 'NORMAL', 'FULL', 'EXTRA'][sync]} for enqueue, "
          f"file in {tmp}")
    print(f"enqueued:  {enqueued[0]} events in {produce_s:.2f}s = {enqueued[0] / produce_s:,.0f} events/s "
          f"({args.chunk} messages per fsync'd transaction, {args.producers} producer thread(s))")
    if args.prefill:
        print(f"delivered: {len(lat)} events in {total_s:.2f}s (delivery start -> queue empty, queue prefilled) = "
              f"{len(lat) / total_s:,.0f} events/s")
    else:
        print(f"delivered: {len(lat)} events in {total_s:.2f}s (enqueue start -> queue empty, enqueueing "
              f"meanwhile) = {len(lat) / total_s:,.0f} events/s sustained")
    print(f"amplitude: accepted {accepted} events, {duplicates} duplicates, {reqs} requests")
    if sizes:
        print(f"batches:   {len(sizes)} requests, events per request mean {statistics.mean(sizes):.0f}, "
              f"p50 {percentile(sorted(sizes), 50):.0f}, max {max(sizes)}")
    print(f"latency:   enqueue -> accepted p50 {percentile(lat, 50) * 1000:.0f} ms, "
          f"p99 {percentile(lat, 99) * 1000:.0f} ms, max {(lat[-1] if lat else 0) * 1000:.0f} ms")
    print(f"memory:    peak RSS of the relay process {peak_mb:.0f} MB")
    n = max(1, len(lat))
    print(f"cpu:       relay {relay_cpu:.1f}s = {relay_cpu / n * 1e6:.0f} us/event (enqueue + delivery, "
          f"{n / relay_cpu:,.0f} events per CPU-second); fake Amplitude {fake_cpu:.1f}s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    queue.close()
    fake.stop()
    if args.dir is None:
        shutil.rmtree(tmp, ignore_errors=True)
    ok = accepted == enqueued[0] and len(lat) == enqueued[0]
    if not ok:
        print("MISMATCH: not every enqueued event was accepted exactly once", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
