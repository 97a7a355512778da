#!/usr/bin/env python3
"""Transform rate of amprelay's engine on one core: per event, every preset's trigger is evaluated
and each matching subscription runs mapping + validation + perform, then each request body is
serialised (``Request.body_bytes()``: JSON.stringify / URLSearchParams). Seeded realistic mixed
corpus from bench/corpus.py. Also prints the memory allocated per event (tracemalloc, a separate
pass) and the time spent per stage.

    .venv/bin/python bench/transform.py [--n 20000] [--seed 1] [--seconds 10]

Goal: >= 17,500 events/s on one core.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import corpus  # noqa: E402

from amprelay.destination import Settings  # noqa: E402
from amprelay.destination.presets import PRESETS  # noqa: E402
from amprelay.engine import ActionError, Subscription, compile_subscription  # noqa: E402

NOW_MS = 1704067200000
SETTINGS = {"apiKey": "bench-api-key", "secretKey": "bench-secret", "endpoint": "north_america"}
GOAL = 17_500


def compile_presets() -> list[Any]:
    return [
        compile_subscription(Subscription(name=p.name, trigger=p.subscribe, action_key=p.action, mapping=p.mapping))
        for p in PRESETS
    ]


def one_pass(subs: list[Any], settings: Settings, events: list[dict[str, Any]]) -> tuple[int, int, int]:
    requests = errors = nbytes = 0
    for ev in events:
        for sub in subs:
            if sub.matches(ev):
                try:
                    reqs = sub.run(ev, settings, NOW_MS)
                except ActionError:
                    errors += 1
                    continue
                for r in reqs:
                    nbytes += len(r.body_bytes())
                requests += len(reqs)
    return requests, errors, nbytes


def stage_times(subs: list[Any], settings: Settings, events: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per stage over one pass (approximate: timer overhead included)."""
    t = {"trigger": 0.0, "mapping": 0.0, "validate": 0.0, "perform": 0.0, "encode": 0.0}
    pc = time.perf_counter
    from amprelay.destination import Context

    ctx = Context(NOW_MS)
    for ev in events:
        for sub in subs:
            t0 = pc()
            m = sub.matches(ev)
            t1 = pc()
            t["trigger"] += t1 - t0
            if not m:
                continue
            action = sub.action
            try:
                resolved = action._evaluate(ev)
                t2 = pc()
                payload = action._validate(resolved)
                t3 = pc()
            except Exception:
                continue
            reqs = action._perform(payload, settings, ctx)
            t4 = pc()
            for r in reqs:
                r.body_bytes()
            t5 = pc()
            t["mapping"] += t2 - t1
            t["validate"] += t3 - t2
            t["perform"] += t4 - t3
            t["encode"] += t5 - t4
    return t


def memory_per_event(subs: list[Any], settings: Settings, events: list[dict[str, Any]]) -> tuple[float, float]:
    """(bytes allocated per event, peak traced bytes during the pass) with tracemalloc."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    total_alloc = 0
    # allocation volume: sum of per-event peaks above the baseline
    for ev in events:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        one_pass(subs, settings, [ev])
        total_alloc += tracemalloc.get_traced_memory()[1] - start
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return total_alloc / len(events), peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="corpus size (events)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0, help="minimum CPU seconds timed")
    ap.add_argument("--no-stages", action="store_true", help="skip the per-stage breakdown")
    a = ap.parse_args(argv)

    events = corpus.generate(a.n, a.seed)
    subs = compile_presets()
    settings = Settings.from_dict(SETTINGS)
    print(f"corpus: {len(events)} events, seed {a.seed}; presets: {', '.join(p.name for p in PRESETS)}")

    one_pass(subs, settings, events[:2000])  # warm-up
    n = requests = errors = nbytes = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while True:
        r, e, b = one_pass(subs, settings, events)
        n += len(events)
        requests, errors, nbytes = requests + r, errors + e, nbytes + b
        cpu = time.process_time() - c0
        if cpu >= a.seconds:
            break
    wall = time.perf_counter() - t0
    rate = n / cpu
    print(f"events: {n} in {cpu:.2f} CPU s ({wall:.2f} wall s)")
    print(f"requests: {requests} ({requests / n:.3f}/event), action errors: {errors}, body bytes: {nbytes}")
    print(f"rate: {rate:,.0f} events/s on one core (goal {GOAL:,}: {'met' if rate >= GOAL else 'NOT met'})")

    if not a.no_stages:
        sample = events[: min(len(events), 5000)]
        st = stage_times(subs, settings, sample)
        total = sum(st.values())
        print("per event (µs): " + ", ".join(f"{k} {v / len(sample) * 1e6:.1f}" for k, v in st.items())
              + f", total {total / len(sample) * 1e6:.1f}")

    sample = events[: min(len(events), 2000)]
    per_event, peak = memory_per_event(subs, settings, sample)
    print(f"memory: {per_event / 1024:.1f} KiB allocated per event (transient peak), "
          f"{peak / 1024:.0f} KiB retained peak over {len(sample)} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
