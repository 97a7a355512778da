"""The relay side of the crash test: deliver a SQLite queue to the local Amplitude until it is
empty (``python _crash_worker.py DB URL``); the test SIGKILLs it at random moments."""

from __future__ import annotations

import asyncio
import sys

from amprelay.delivery import DeliveryService, DeliverySettings
from amprelay.store.sqlite import SQLiteQueue


async def main(db: str, url: str) -> int:
    queue = SQLiteQueue(db)
    settings = DeliverySettings(concurrency=3, lease_units=400, linger_ms=0, poll_seconds=0.02,
                                backoff_base_seconds=0.05, backoff_max_seconds=0.2, timeout_seconds=2.0)
    svc = DeliveryService(queue, {}, url, settings=settings)
    await svc.start()
    print("started", flush=True)
    while queue.stats().depth:
        await asyncio.sleep(0.05)
    await svc.stop()
    queue.close()
    print("drained", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
