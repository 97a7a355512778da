"""Scale-out: delivered events/s with 1, 2 and 4 relays (`amprelay serve` processes) sharing one
PostgreSQL queue, and one relay on the embedded SQLite store for comparison, on this machine.

    .venv/bin/python bench/scale.py [--events 60000] [--relays 1,2,4] [--runs 3] [--no-sqlite] [--connections 8] [--dsn ...]

Each run: a fresh PostgreSQL schema, the local Amplitude in its own process, N relays; once they
share the buckets evenly (a second or two after they started; `--no-settle`: at once), a load
process posts /v1/batch requests (100 events each, `--connections` keep-alive connections (8), round-robin over the relays);
the clock stops when the local Amplitude has recorded every event. Prints events/s end to end
(ingest + transform + queue + delivery) and the CPU time per event of the relays, of PostgreSQL's
backends serving them, of the stand-in and of the load generator; with ``--runs 3``, also each
figure's min / median / max and the ratio of N relays to one, run by run.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _procs import cpu_seconds, free_port, wait_http  # noqa: E402

AMPRELAY = [sys.executable, "-m", "amprelay.cli.main"]
WRITE_KEY = "bench-scale"


async def post_all(ports: list[int], bodies: list[bytes], connections: int = 8) -> None:
    """Posts every body once (retrying one that is not answered 200 on the next relay) over
    ``connections`` keep-alive connections, round-robin over the relays, with bench/ingest.py's minimal HTTP/1.1
    client: pre-built requests, no HTTP library in the loop (httpx cost the load generator
    15 µs of CPU per event, which the relays then did not have on a 2-core machine)."""
    from ingest import _Client

    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    loop = asyncio.get_running_loop()
    pending = list(enumerate(bodies))[::-1]

    def request(port: int, body: bytes) -> bytes:
        return (f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    async def connection(k: int) -> None:
        clients: dict[int, _Client] = {}
        while pending:
            i, body = pending.pop()
            for attempt in range(100):
                port = ports[(i + attempt) % len(ports)]
                try:
                    client = clients.get(port)
                    if client is None or client.transport is None:
                        _, client = await loop.create_connection(_Client, "127.0.0.1", port)
                        clients[port] = client
                    client.waiter = loop.create_future()
                    client.transport.write(request(port, body))
                    if await client.waiter == 200:
                        break
                except (OSError, ValueError):
                    clients.pop(port, None)
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("a batch was never accepted")
        for client in clients.values():
            if client.transport is not None:
                client.transport.close()

    await asyncio.gather(*(connection(k) for k in range(connections)))


def pg_backends(dsn: str, application: str) -> list[int]:
    """The PostgreSQL server processes serving this run's relays (by their application_name)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as c:
        return [r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                                        (application,))]


def wait_buckets_shared(dsn: str, schema: str, relays: int, timeout: float = 30.0) -> None:
    """Until every relay owns its even share of the buckets, as it does a second or two after it
    started (the steady state, which the figures are about). The first relay to lease takes all
    of them; the others' shares come when it next counts the live relays (every 0.25 s), at once
    if nothing is in flight, else after it drained them (``--no-settle`` measures from the start,
    that included)."""
    import psycopg

    share = -(-64 // relays)
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as c:
        while True:
            owned = [n for (n,) in c.execute(
                f'SELECT COUNT(*) FROM "{schema}".amprelay_buckets WHERE owner IS NOT NULL GROUP BY owner')]
            if len(owned) == relays and all(64 - share * (relays - 1) <= n <= share for n in owned):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the relays did not share the buckets in {timeout:.0f} s: {owned}")
            time.sleep(0.1)


def run(backend: str, relays: int, events: list[dict], dsn: str | None,
        connections: int = 8, settle: bool = True, vacuum: bool = True) -> tuple[float, dict[str, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="amprelay-scale-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # after the relays are stopped
    fake_port = free_port()
    fake = subprocess.Popen([*AMPRELAY, "fake-amplitude", "--port", str(fake_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    schema = None
    queue = "{backend: sqlite}"
    if backend == "postgres":
        import psycopg

        schema = f"amprelay_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in dsn else "?"
        queue = (f'{{backend: postgres, dsn: "{dsn}{sep}options={quote(f"-csearch_path={schema}")}'
                 f'&application_name={schema}"' + ("" if vacuum else ", vacuum_units: 0") + "}")
    ports = [free_port() for _ in range(relays)]
    procs = []
    try:
        wait_http(f"http://127.0.0.1:{fake_port}/_fake/health")
        for i, port in enumerate(ports):
            cfg = tmp / f"r{i}.yaml"
            cfg.write_text(f"""
data_dir: {tmp / f'data{i}'}
sources: [{{name: bench, write_key: {WRITE_KEY}}}]
destinations:
  - name: amplitude
    settings: {{apiKey: bench-scale-key-000000000000001, secretKey: s}}
    presets: true
queue: {queue}
server: {{port: {port}}}
delivery: {{amplitude_url: "http://127.0.0.1:{fake_port}"}}
""")
            procs.append(subprocess.Popen([*AMPRELAY, "serve", "--config", str(cfg), "--log-level", "warning"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/health")
        if schema is not None and settle:
            wait_buckets_shared(dsn, schema, relays)
        bodies = [orjson.dumps({"batch": events[i:i + 100]}) for i in range(0, len(events), 100)]
        # PostgreSQL's processes for this run: its backends (connections open at start-up already)
        backends = pg_backends(dsn, schema) if schema is not None else []
        watched = {"relays": [p.pid for p in procs], "postgres": backends, "stand-in": [fake.pid],
                   "load generator": [os.getpid()]}
        cpu0 = {k: sum(cpu_seconds(p) for p in pids) for k, pids in watched.items()}
        start = time.perf_counter()
        asyncio.run(post_all(ports, bodies, connections))
        fake_url = f"http://127.0.0.1:{fake_port}"
        expected = sum(1 for e in events if e["type"] in ("track", "page", "screen"))
        while True:
            with urlopen(fake_url + "/_fake/stats", timeout=10) as answer:  # polled: no client to set up
                stats = orjson.loads(answer.read())
            if stats.get("records_total", 0) >= expected:
                break
            if time.perf_counter() - start > 600:
                raise RuntimeError(f"only {stats.get('records_total')} of {expected} events arrived")
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        if schema is not None:  # connections opened during the run count from zero
            watched["postgres"] = sorted(set(backends) | set(pg_backends(dsn, schema)))
        cpu = {k: (sum(cpu_seconds(p) for p in pids) - cpu0.get(k, 0.0)) / len(events) * 1e6
               for k, pids in watched.items()}
        return len(events) / elapsed, cpu
    finally:
        for p in [*procs, fake]:
            p.send_signal(signal.SIGTERM)
        for p in [*procs, fake]:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        if schema is not None:
            import psycopg

            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=60000, help="events per run (a run of a few seconds: fewer make start-up noise count)")
    ap.add_argument("--relays", default="1,2,4")
    ap.add_argument("--dsn", default=os.environ.get("AMPRELAY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1, help="run every configuration this many times")
    ap.add_argument("--no-sqlite", action="store_true", help="leave out the embedded-store comparison")
    ap.add_argument("--connections", type=int, default=8,
                    help="the load generator's keep-alive connections, round-robin over the relays (each posts "
                         "its next request when the last is answered)")
    ap.add_argument("--no-settle", action="store_true",
                    help="start the load at once, not after the relays share the buckets evenly (the first "
                         "relay to lease takes them all; the others get theirs a second or two later)")
    ap.add_argument("--no-vacuum", action="store_true",
                    help="queue.vacuum_units: 0 (the relays leave the units table to autovacuum)")
    args = ap.parse_args()
    # track/page/screen events only: every one becomes exactly one Amplitude event under the presets
    events = []
    for i in range(args.events):
        kind = ("track", "page", "screen")[i % 3]
        ev = {"type": kind, "userId": f"user-{i % 500:04d}", "messageId": f"scale-{args.seed}-{i:07d}",
              "timestamp": "2024-01-01T00:00:00.000Z", "properties": {"i": i},
              "context": {"userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                       "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"}}
        if kind == "track":
            ev["event"] = f"Event {i % 7}"
        else:
            ev["name"] = f"Page {i % 5}"
        events.append(ev)
    print(f"{args.events} events per run on {os.cpu_count()} cores; end to end (ingest -> Amplitude)")
    print("CPU time per event, µs, by process: the relays, PostgreSQL's backends serving them, the stand-in, "
          "the load generator (this process)" + ("; min / median / max of the runs" if args.runs > 1 else ""))
    rows = ([] if args.no_sqlite else [("sqlite", 1)]) + [("postgres", int(n)) for n in args.relays.split(",")]
    results: dict[tuple[str, int], list[tuple[float, dict[str, float]]]] = {row: [] for row in rows}
    for i in range(args.runs):
        if args.runs > 1:
            print(f"run {i + 1} of {args.runs}", flush=True)
        print(f"{'backend':<10} {'relays':>6} {'events/s':>10} {'relays':>8} {'postgres':>9} {'stand-in':>9} "
              f"{'load gen':>9}")
        for backend, n in rows:
            rate, cpu = run(backend, n, events, args.dsn, args.connections, settle=not args.no_settle,
                            vacuum=not args.no_vacuum)
            results[(backend, n)].append((rate, cpu))
            pg = f"{cpu['postgres']:>9,.1f}" if backend == "postgres" else f"{'-':>9}"
            print(f"{backend:<10} {n:>6} {rate:>10,.0f} {cpu['relays']:>8,.1f} {pg} {cpu['stand-in']:>9,.1f} "
                  f"{cpu['load generator']:>9,.1f}", flush=True)
    if args.runs > 1:
        def spread(values: list[float], fmt: str) -> str:
            v = sorted(values)
            return " / ".join(format(x, fmt) for x in (v[0], statistics.median(v), v[-1]))

        print(f"over {args.runs} runs, min / median / max:")
        for (backend, n), got in results.items():
            pg = spread([c["postgres"] for _, c in got], ".1f") if backend == "postgres" else "-"
            print(f"{backend:<10} {n} relay(s): {spread([r for r, _ in got], ',.0f')} events/s; µs/event: relays "
                  f"{spread([c['relays'] for _, c in got], '.1f')}, postgres {pg}")
        one = results.get(("postgres", 1))
        for (backend, n), got in results.items():
            if backend == "postgres" and n > 1 and one:
                print(f"{n} relays / 1 relay, run by run: " + ", ".join(
                    f"{a[0] / b[0]:.2f}x" for a, b in zip(got, one, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
