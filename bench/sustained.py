"""Sustained end to end on the embedded store: a steady offered rate for a while, and whether the
relay keeps up (events reaching the Amplitude stand-in per second, the inbox flat), with the CPU
each process spends per event.

    .venv/bin/python bench/sustained.py --rate 9000 --duration 60 --workers 1
    .venv/bin/python bench/sustained.py --rate 9000 --duration 20 --workers 0    # one process
    .venv/bin/python bench/sustained.py --endpoint track --rate 3000 --duration 60 --workers 1
    .venv/bin/python bench/sustained.py --endpoint track --rate 3000 --duration 60 --ingest-processes 2

Starts the stand-in (`amprelay fake-amplitude`), `amprelay serve [--workers N] [--ingest-processes M]` and the load
generator of bench/ingest.py (batches of 100 realistic events from bench/corpus.py on a fixed
schedule, 16 connections; with ``--endpoint track`` one track event per /v1/track request, 64
connections) as processes on this machine. Over the last half of the run (the *window*, 30 s of
a 60 s run) it prints events/s reaching the stand-in, the inbox and queue depth at the window's
start and end (and whether the inbox stayed flat: it grew by less than half a second of the
offered load), and each process's CPU time per event received by the stand-in and per request answered (200) in the window.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _procs import children, cpu_seconds, stop_all, wait_http  # noqa: E402
from ingest import load_generator, relay_backlog, start_relay  # noqa: E402

AMPRELAY = str(Path(sys.executable).with_name("amprelay"))


def worker_name(pid: int) -> str:
    """``map-<k>``, ``deliver`` or ``ingest-<k>`` (the last word of a worker's command line)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")[-1].decode()
    except OSError:
        return str(pid)


def answered(metrics_url: str) -> float:
    """Ingest requests the relay answered 200 so far (amprelay_ingest_requests_total)."""
    n = 0.0
    for line in urlopen(metrics_url).read().decode().splitlines():
        if line.startswith("amprelay_ingest_requests_total{") and 'status="200"' in line:
            n += float(line.split()[-1])
    return n


def received(fake_url: str) -> tuple[int, int]:
    """(events, requests) the stand-in received so far."""
    st = orjson.loads(urlopen(fake_url + "/_fake/stats").read())
    return int(st["events_received"]), sum(sum(per.values()) for per in st["requests"].values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=9000, help="events/s offered")
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--workers", type=int, default=0, help="serve --workers (0: one process)")
    ap.add_argument("--ingest-processes", type=int, default=0, help="serve --ingest-processes (0: ingest in the main one)")
    ap.add_argument("--endpoint", choices=["batch", "track"], default="batch",
                    help="batch: --batch events per /v1/batch request; track: one event per /v1/track request")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=None, help="connections (default 16, with track 64)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    per_request = 1 if args.endpoint == "track" else args.batch
    concurrency = args.concurrency or (64 if args.endpoint == "track" else 16)

    fake, relay, fake_port, relay_port = start_relay("sustained", args.workers, args.ingest_processes)
    fake_url, metrics_url = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{relay_port}/metrics"
    try:
        wait_http(fake_url + "/_fake/health")
        wait_http(f"http://127.0.0.1:{relay_port}/health")
        deadline = time.monotonic() + 20
        expected = (args.workers + 1 if args.workers else 0) + args.ingest_processes
        while len(children(relay.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        procs = {"relay (main)": relay.pid}
        for pid in sorted(children(relay.pid)):
            procs[f"relay {worker_name(pid)}"] = pid
        procs["stand-in"] = fake.pid
        q: mp.Queue = mp.get_context("spawn").Queue()
        gen = mp.get_context("spawn").Process(
            target=load_generator,
            args=(f"http://127.0.0.1:{relay_port}", args.rate, args.duration, args.batch, concurrency,
                  args.seed, q, args.endpoint))
        t_start = time.perf_counter()
        gen.start()
        procs["load generator"] = gen.pid
        window = args.duration / 2
        time.sleep(args.duration - window)
        t0, (r0, n0), cpu0, back0 = time.perf_counter(), received(fake_url), \
            {k: cpu_seconds(p) for k, p in procs.items()}, relay_backlog(metrics_url)
        load0 = os.getloadavg()[0]
        ok0 = answered(metrics_url)
        time.sleep(max(0.0, t_start + args.duration - time.perf_counter()))
        t1, (r1, n1), cpu1, back1 = time.perf_counter(), received(fake_url), \
            {k: cpu_seconds(p) for k, p in procs.items()}, relay_backlog(metrics_url)
        ok1 = answered(metrics_url)
        result = q.get(timeout=120)
        gen.join()
        events = max(1, r1 - r0)
        window_s = t1 - t0
        requests = max(1.0, ok1 - ok0)  # answered 200 over the window
        shape = "one a /v1/track request" if args.endpoint == "track" else f"{args.batch} a request"
        print(f"offered           : {args.rate:,.0f} events/s for {args.duration:.0f} s "
              f"({shape}, {concurrency} connections); serve --workers {args.workers} "
              f"--ingest-processes {args.ingest_processes}; "
              f"{os.cpu_count()} cores, load average {load0:.2f} before the window")
        print(f"accepted          : {result['accepted'] / result['elapsed']:,.0f} events/s, "
              f"statuses {result['statuses']}; {requests / window_s:,.0f} requests/s over the window")
        print(f"reaching stand-in : {events / window_s:,.0f} events/s over the last {window_s:.0f} s "
              f"({r1:,} in all), in {(n1 - n0) / window_s:,.1f} requests/s = {events / max(1, n1 - n0):,.0f} "
              f"events per request")
        growth = back1[0] - back0[0]
        flat = back1[0] <= back0[0] + 0.5 * args.rate / per_request
        print(f"inbox depth       : {back0[0]:,.0f} -> {back1[0]:,.0f} requests' worth over the window "
              f"({growth * per_request / window_s:+,.0f} events/s): {'flat' if flat else 'GROWING'}; "
              f"queue depth {back0[1]:,.0f} -> {back1[1]:,.0f}")
        total = 0.0
        for k in procs:
            used = cpu1[k] - cpu0[k]
            total += used
            print(f"  {k:<16}: {used / events * 1e6:6.1f} µs CPU per event, {used / requests * 1e6:7.1f} per request "
                  f"({used / window_s * 100:4.0f}% of a core)")
        print(f"  {'all':<16}: {total / events * 1e6:6.1f} µs CPU per event, {total / requests * 1e6:7.1f} per request "
              f"({total / window_s * 100:4.0f}%)")
    finally:
        stop_all([relay, fake], 40)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
