"""PostgreSQL's CPU per unit in the queue's own operations, without HTTP or mapping in the way.

    .venv/bin/python bench/pg_queue.py [--units 20000] [--runs 3] [--lease 4000] [--dsn postgresql://...]

Each run, in a fresh schema: enqueue ``--units`` units as 100-unit requests with their messageId
claims (as ingest does), then lease (``--lease`` at most: 4,000 as delivery does; fewer, as when
several relays share the queue, makes each lease find a backlog) and acknowledge until the
queue is empty. Prints the CPU time of the PostgreSQL backend serving the queue per unit, for
enqueue, lease and settle, so a change to the queue's statements shows up as µs of PostgreSQL per
unit; and the WAL bytes written per unit and phase (the whole server's: exact on a server of its
own, e.g. a throw-away ``initdb`` cluster given by ``--dsn``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import orjson
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _procs import cpu_seconds  # noqa: E402

from amprelay.store.base import MessageClaims, NewUnit, UnitRoute  # noqa: E402
from amprelay.store.postgres import PostgresQueue  # noqa: E402

EVENTS = UnitRoute("amplitude", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
               (("api_key", "k"), ("events", None)))


def run(dsn: str, n: int, per_lease: int) -> tuple[dict[str, float], dict[str, float]]:
    schema = f"amprelay_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in dsn else "?"
        q = PostgresQueue(f"{dsn}{sep}options={quote(f'-csearch_path={schema}')}&application_name={schema}")
        try:
            def pids() -> list[int]:
                """The queue's backends (its connections open as it needs them)."""
                return [r[0] for r in admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                                                    (schema,))]

            out: dict[str, float] = {}
            wal_per_unit: dict[str, float] = {}

            def wal() -> int:
                """The server's WAL position, in bytes."""
                return int(admin.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])

            def measure(name: str, fn) -> None:
                cpu0, wal0 = {p: cpu_seconds(p) for p in pids()}, wal()
                fn()
                # a backend that connected meanwhile counts from zero
                out[name] = sum(cpu_seconds(p) - cpu0.get(p, 0.0) for p in pids()) / n * 1e6
                wal_per_unit[name] = (wal() - wal0) / n

            def enqueue() -> None:
                now = time.time()
                for start in range(0, n, 100):
                    batch = [NewUnit(EVENTS, orjson.dumps({"user_id": f"u{i % 500}", "event_type": "e", "i": i}),
                                     f"u{i % 500}", f"m-{i}", now) for i in range(start, min(n, start + 100))]
                    claims = MessageClaims(86400.0, now, {("src", u.message_id): range(k, k + 1)
                                                          for k, u in enumerate(batch)})
                    q.enqueue_with_dead(batch, (), claims=claims)

            leased: list[list] = []

            def lease() -> None:
                while True:
                    got = q.lease("bench", per_lease, 300)
                    if not got:
                        break
                    leased.append(got)
                    q.settle(ack=[u.id for u in got], tokens={u.id: u.token for u in got})

            measure("enqueue", enqueue)
            measure("lease+settle", lease)
            assert sum(len(x) for x in leased) == n, "every unit is leased once"
            return out, wal_per_unit
        finally:
            q.close()
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lease", type=int, default=4000, help="units per lease at most")
    ap.add_argument("--dsn", default=os.environ.get("AMPRELAY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    got = [run(args.dsn, args.units, args.lease) for _ in range(args.runs)]
    results = [r for r, _ in got]
    print(f"{args.units} units per run, {args.runs} runs, leases of {args.lease}; PostgreSQL backend CPU µs per unit (min / median / max); "
          "the server's WAL bytes per unit (median)")
    for phase in results[0]:
        cpu = sorted(r[phase] for r in results)
        wal = statistics.median(w[phase] for _, w in got)
        print(f"{phase:<14} {cpu[0]:7.1f} / {statistics.median(cpu):7.1f} / {cpu[-1]:7.1f} µs   WAL {wal:6.0f} B")
    total = sorted(sum(r.values()) for r in results)
    print(f"{'total':<14} {total[0]:7.1f} / {statistics.median(total):7.1f} / {total[-1]:7.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
