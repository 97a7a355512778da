"""Throughput of the mapping engine alone: the Log Event V2 default mapping on realistic events.

    .venv/bin/python bench/engine_mapping.py [--n 20000] [--seconds 3]

Prints mappings evaluated per second on one core (compile once, evaluate per event), for
(a) one fixed realistic track event and (b) the shared seeded corpus (bench/corpus.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from amprelay.mapping import compile_mapping  # noqa: E402

PRESETS = os.path.join(ROOT, "tests", "conformance", "cases", "presets.jsonl")

EVENT = {
    "type": "track",
    "event": "Order Completed",
    "messageId": "3216fdae-eb97-4572-afae-923d5a4fd12a",
    "timestamp": "2024-01-19T10:11:12.345Z",
    "userId": "user_9cb0eb53",
    "anonymousId": "anon-1b2c3d",
    "context": {
        "device": {"id": "dev-123", "manufacturer": "Apple", "model": "iPhone14,5", "type": "ios"},
        "os": {"name": "iOS", "version": "17.1"},
        "app": {"version": "5.2.1"},
        "locale": "en-US",
        "ip": "203.0.113.9",
        "library": {"name": "analytics-ios", "version": "4.1.0"},
        "network": {"carrier": "Verizon", "wifi": False},
        "location": {"country": "US", "city": "Austin", "latitude": 30.27, "longitude": -97.74},
        "campaign": {"source": "newsletter", "medium": "email", "name": "Black Friday 2023"},
        "page": {"referrer": "https://t.co/abc123"},
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
    },
    "integrations": {"Actions Amplitude": {"session_id": 1704067200000}},
    "properties": {
        "revenue": 59.9,
        "currency": "USD",
        "order_id": "ord_e4fb44",
        "products": [
            {"productId": "p1", "name": "T-Shirt", "price": 19.95, "quantity": 2},
            {"productId": "p2", "name": "Book", "price": 20.0, "quantity": 1},
        ],
    },
    "traits": {"email": "a@example.com", "plan": "pro"},
}


def default_mapping() -> dict:
    with open(PRESETS) as fh:
        for line in fh:
            case = json.loads(line)
            if case.get("action") == "logEventV2" and case.get("mapping"):
                return case["mapping"]
    raise SystemExit("no logEventV2 mapping in presets.jsonl")


def rate(fn, events: list, seconds: float) -> tuple[float, float]:
    """(best, median) evaluations per CPU-second over ~10 rounds of `seconds / 10` each."""
    rates = []
    for _ in range(10):
        n = 0
        start = time.process_time()
        deadline = start + seconds / 10
        while True:
            for ev in events:
                fn(ev)
            n += len(events)
            now = time.process_time()
            if now >= deadline:
                break
        rates.append(n / (now - start))
    rates.sort()
    return rates[-1], rates[len(rates) // 2]


def show(label: str, rates: tuple[float, float]) -> None:
    print(f"{label}: best {rates[0]:,.0f} mappings/s, median {rates[1]:,.0f} mappings/s (CPU time, one core)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20000, help="corpus size")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args(argv)
    mapping = default_mapping()
    t0 = time.perf_counter()
    compiled = compile_mapping(mapping)
    compile_us = (time.perf_counter() - t0) * 1e6
    evaluate = compiled.evaluate
    print(f"fields: {len(mapping)}  compile: {compile_us:.0f} us")
    show("fixed Order Completed event", rate(evaluate, [EVENT] * 1000, args.seconds))
    try:
        from corpus import generate
    except ImportError:
        return 0
    events = generate(args.n, seed=1)
    show(f"corpus ({args.n} mixed events)", rate(evaluate, events, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
