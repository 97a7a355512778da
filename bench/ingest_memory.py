"""Memory one ingest request costs, as a multiple of its body (tracemalloc peak while the
request is handled; the relay behind it only counts what it is given).

    .venv/bin/python bench/ingest_memory.py

Bodies: 2,400 realistic track events (~500 KB, the batch limit), 100,000 empty objects (junk,
300 KB), 2,300 events with lone surrogates, one 32 KB message. Runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc

import httpx

from amprelay.config import Config, SourceConfig
from amprelay.delivery.metrics import Metrics
from amprelay.server.app import create_app

SOURCE = SourceConfig(name="web", write_key="k")


class _Relay:
    pressure = None
    config = Config()

    def __init__(self) -> None:
        self.accepted = 0
        self.metrics = Metrics()

    def source_for_key(self, key: str) -> SourceConfig:
        return SOURCE

    async def accept(self, source: SourceConfig, messages: list, rejected: list,
                     payload: bytes | None = None) -> None:
        self.accepted += len(messages)

    def ready(self) -> tuple[bool, str]:
        return True, "ok"

    def metrics_text(self) -> tuple[bytes, str]:
        return b"", "text/plain"


def _event(i: int, extra: str = "") -> dict:
    return {"type": "track", "event": "Product Viewed", "userId": f"user-{i:06d}", "messageId": f"m-{i:08d}",
            "timestamp": "2024-03-15T16:23:05.123Z", "properties": {"product_id": f"p-{i}", "price": 19.9,
                                                                   "name": "Socks" + extra}}


BODIES = {
    "2,400 realistic events": json.dumps({"batch": [_event(i) for i in range(2400)]}).encode(),
    "100,000 empty objects (junk)": b'{"batch":[' + b",".join([b"{}"] * 100_000) + b"]}",
    "170,000 empty objects (500 KB junk)": b'{"batch":[' + b",".join([b"{}"] * 170_000) + b"]}",
    "2,300 events with lone surrogates": json.dumps({"batch": [_event(i, "\ud800") for i in range(2300)]}).encode(),
    "one 32 KB message": json.dumps({"event": "Big", "userId": "user-1",
                                     "properties": {"s": "x" * 32_000}}).encode(),
}


async def _measure(name: str, body: bytes) -> None:
    app = create_app(_Relay())
    path = "/v1/track" if name.startswith("one") else "/v1/batch"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay") as client:
        await client.post(path, content=body, auth=("k", ""))  # warm up (imports, caches)
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        r = await client.post(path, content=body, auth=("k", ""))
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    assert r.status_code == 200, r.text
    print(f"{name:36} body {len(body) / 1024:7.0f} KB  peak {peak / 1024**2:6.1f} MB  "
          f"= {peak / len(body):5.1f} x body  answer {len(r.content)} B")


def main() -> None:
    for name, body in BODIES.items():
        asyncio.run(_measure(name, body))


if __name__ == "__main__":
    main()
