"""What messageId dedupe (ingest.dedupe_window) costs per event in the store: the same enqueues
(a request's worth of messages each, one unit per message) with and without dedupe claims, on
SQLite and, when reachable, PostgreSQL; the dedupe table already holding a window's worth of ids.

    .venv/bin/python bench/dedupe.py [--events 20000] [--pg-dsn postgresql://...]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from amprelay.store.base import MessageClaims, NewUnit, UnitRoute

ROUTE = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                  (("api_key", "bench-key"), ("events", None)))
PER_REQUEST = 50


def run(queue, events: int, dedupe: bool, tag: str) -> float:
    """Seconds per event."""
    started = time.perf_counter()
    for start in range(0, events, PER_REQUEST):
        n = min(PER_REQUEST, events - start)
        mids = [f"{tag}-{start + i}" for i in range(n)]
        units = [NewUnit(ROUTE, orjson.dumps({"user_id": f"user-{i % 100}", "n": start + i}), f"user-{i % 100}",
                         mid, time.time()) for i, mid in enumerate(mids)]
        claims = None
        if dedupe:
            claims = MessageClaims(86400.0, time.time())
            for i, mid in enumerate(mids):
                claims.units_of[("web", mid)] = range(i, i + 1)
        queue.enqueue_with_dead(units, [], None, claims)
    return (time.perf_counter() - started) / events


def bench(name: str, make, events: int) -> None:
    with contextlib.closing(make()) as q:
        run(q, events, True, "warm")  # a window's worth of ids already there
        plain = run(q, events, False, "plain")
        deduped = run(q, events, True, "dedupe")
    print(f"{name}: enqueue {plain * 1e6:.1f} us/event without dedupe, {deduped * 1e6:.1f} us/event with it "
          f"(+{(deduped - plain) * 1e6:.1f} us/event, {events} events in requests of {PER_REQUEST})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    from amprelay.store.sqlite import SQLiteQueue

    with tempfile.TemporaryDirectory() as d:
        bench("SQLite", lambda: SQLiteQueue(Path(d) / "bench.sqlite3"), args.events)
    try:
        import psycopg

        from amprelay.store.postgres import PostgresQueue

        schema = f"amprelay_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg_dsn, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE SCHEMA "{schema}"')
        try:
            sep = "&" if "?" in args.pg_dsn else "?"
            dsn = f"{args.pg_dsn}{sep}options=-csearch_path%3D{schema}"
            bench("PostgreSQL", lambda: PostgresQueue(dsn), args.events)
        finally:
            with psycopg.connect(args.pg_dsn, autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    except Exception as exc:  # noqa: BLE001 - the PostgreSQL half is optional
        print(f"PostgreSQL: skipped ({exc})")


if __name__ == "__main__":
    main()
