"""Profile (or time) the ingest path in-process: ``RelayService.app`` driven through ASGI calls
(no sockets, no uvicorn) with the bench's bodies, on a real embedded store (fsync'd inbox).

    PYTHONPATH=src .venv/bin/python dev/profile_ingest.py                  # 100-event batches, CPU per request
    PYTHONPATH=src .venv/bin/python dev/profile_ingest.py --endpoint track --profile

The service is built with ``server.workers: 1`` and its lifespan never runs: no mapper, no
delivery, only what the ingest process does per request (parse, validate, inbox append).
``--profile`` prints the cProfile table (sorted by own time) instead of only the timing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import gc
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "bench"))

from _procs import BENCH_WRITE_KEY as WRITE_KEY  # noqa: E402
from _procs import ingest_bench_config  # noqa: E402


def bodies(endpoint: str, batch: int, seed: int) -> list[bytes]:
    from corpus import generate

    events = generate(4000, seed)
    if endpoint == "track":
        return [orjson.dumps(e) for e in events if e.get("type") == "track"]
    return [orjson.dumps({"batch": events[i:i + batch]}) for i in range(0, len(events) - batch + 1, batch)]


def build_app(tmp: Path):
    from amprelay.config.loading import parse_config
    from amprelay.wiring import RelayService

    text = ingest_bench_config(tmp / "data", 1, 1)
    return RelayService.build(parse_config(text).config)


async def drive(app, endpoint: str, data: list[bytes], requests: int, concurrency: int) -> dict[int, int]:
    auth = b"Basic " + base64.b64encode(f"{WRITE_KEY}:".encode())
    statuses: dict[int, int] = {}
    next_index = 0

    async def one(body: bytes) -> None:
        scope = {"type": "http", "method": "POST", "path": f"/v1/{endpoint}", "raw_path": f"/v1/{endpoint}".encode(),
                 "query_string": b"", "http_version": "1.1", "scheme": "http", "root_path": "",
                 "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 1),
                 "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                             (b"authorization", auth), (b"content-length", str(len(body)).encode())]}
        sent = False

        async def receive():
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        statuses[status] = statuses.get(status, 0) + 1

    async def worker() -> None:
        nonlocal next_index
        while next_index < requests:
            i = next_index
            next_index += 1
            await one(data[i % len(data)])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def thread_cpu() -> list[tuple[str, float]]:
    """(name, user + system CPU seconds) of each of this process's threads, from /proc."""
    out = []
    tick = os.sysconf("SC_CLK_TCK")
    for tid in sorted(os.listdir("/proc/self/task")):
        stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        out.append((stat[stat.index("(") + 1:stat.rindex(")")], (int(fields[11]) + int(fields[12])) / tick))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", choices=["batch", "track"], default="batch")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--requests", type=int, default=None, help="default 2000 batches / 20000 tracks")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    import amprelay

    print(f"amprelay from {amprelay.__file__}")
    requests = args.requests or (20000 if args.endpoint == "track" else 2000)
    data = bodies(args.endpoint, args.batch, 1)
    tmp = Path(tempfile.mkdtemp(prefix="amprelay-profile-ingest-"))
    service = build_app(tmp)
    try:
        import uvloop
        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    loop.run_until_complete(drive(service.app, args.endpoint, data, 50, args.concurrency))  # warm up
    gc.collect()  # the collector as `serve` sets it (RelayService.run)
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    prof = cProfile.Profile() if args.profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if prof is not None:
        prof.enable()
    statuses = loop.run_until_complete(drive(service.app, args.endpoint, data, requests, args.concurrency))
    if prof is not None:
        prof.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    per = 1 if args.endpoint == "track" else args.batch
    print(f"{requests} requests ({per} events each), statuses {statuses}: {cpu / requests * 1e6:,.0f} µs CPU "
          f"per request ({cpu / requests / per * 1e6:,.1f} µs per event), {requests / wall:,.0f} requests/s wall")
    print("CPU by thread since start (Linux):", ", ".join(f"{name} {cpu:.2f} s" for name, cpu in thread_cpu()))
    if prof is not None:
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)
    service.relay.inbox.close()
    service.relay.queue.close()
    service.lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
