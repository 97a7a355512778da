#!/usr/bin/env python3
"""What a lease costs on SQLite with a backlog behind the units in flight.

    .venv/bin/python bench/lease_scan.py [--units 50000] [--partitions 1300]

Enqueues ``--units`` units of ``--partitions`` users (three in four events, the rest
identifies: a user's run of one route is short, as in bench/corpus.py's traffic), then, as the
delivery loop does: a first lease of 4000 (it takes every user's leading run), leases while that
round is in flight (nothing is ready: every user is blocked), the round's settlement and the
lease after it. Prints each lease's units and CPU time.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time

from amprelay.delivery.units import entry_bytes
from amprelay.store.base import NewUnit, UnitRoute
from amprelay.store.sqlite import SQLiteQueue

EVENTS = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                   (("api_key", "k"), ("events", None)))
IDENTIFY = UnitRoute("amp", "POST", "https://api2.amplitude.com/identify", "form", "identification", True,
                     (("api_key", "k"), ("identification", ""), ("options", "undefined")))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=50_000)
    ap.add_argument("--partitions", type=int, default=1300)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="amprelay-bench-lease-")
    q = SQLiteQueue(os.path.join(tmp, "q.sqlite3"))
    rng = random.Random(1)
    parts = [f"user_{rng.getrandbits(32):08x}" for _ in range(args.partitions)]
    entry = entry_bytes({"user_id": "user_0badcafe", "event_type": "Song Played", "time": 1_700_000_000_000,
                         "event_properties": {"title": "Cosmic Drift", "artist": "Nova", "duration_ms": 215000},
                         "insert_id": "4b1c9a5e-1c7f-4d0e-9a57-2f0f1f6a7e21-0a1b2c3d", "ip": "203.0.113.7",
                         "platform": "Web", "os_name": "Chrome", "library": "segment"})
    now = time.time()
    for i in range(0, args.units, 1000):
        q.enqueue([NewUnit(EVENTS if rng.random() < 0.75 else IDENTIFY, entry, rng.choice(parts), f"m{j}", now)
                   for j in range(i, min(args.units, i + 1000))])

    def lease(what: str) -> list:
        t = time.thread_time()
        got = q.lease("w", 4000, 300)
        print(f"{what:<34}: {len(got):5d} units, {(time.thread_time() - t) * 1000:6.1f} ms CPU")
        return got

    print(f"{args.units:,} units of {args.partitions:,} users queued ({len(entry)} bytes each)")
    first = lease("first lease")
    for k in range(5):
        lease(f"lease {k + 1} while it is in flight")
    t = time.thread_time()
    q.settle(ack=[u.id for u in first], tokens={u.id: u.token for u in first})
    print(f"{'its settlement (acks)':<34}: {len(first):5d} units, {(time.thread_time() - t) * 1000:6.1f} ms CPU")
    second = lease("the lease after it")
    for k in range(3):
        lease(f"lease {k + 1} while that is in flight")
    q.settle(ack=[u.id for u in second], tokens={u.id: u.token for u in second})
    q.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
