#!/usr/bin/env python3
"""Side-by-side transform rate: the reference (Node, bench/reference_transform.js) vs amprelay's engine,
one core each, same seeded corpus (bench/corpus.py), same presets (Track Calls, Order Completed Calls,
Page Calls, Screen Calls, Identify Calls), HTTP stubbed on both sides: per event, every preset's
trigger is evaluated and each matching subscription's mapping + validation + perform runs, and
each request body is serialised (``JSON.stringify`` / ``URLSearchParams`` on the reference side,
``Request.body_bytes()`` on amprelay's). With amprelay measured, the floor is printed too: ``orjson``
loads + dumps of the same events per CPU second, and amprelay's rate as a fraction of it.

    .venv/bin/python bench/compare_transform.py [--n 20000] [--seed 1] [--seconds 10]
    .venv/bin/python bench/compare_transform.py --skip-reference      # amprelay only
    .venv/bin/python bench/compare_transform.py --skip-amprelay       # reference only

The amprelay side uses ``amprelay.engine`` (``compile_subscription(Subscription(...))`` ->
``.matches(event)`` / ``.run(event, settings, now_ms)``) and ``amprelay.destination.presets.PRESETS``;
it is skipped with a message when those do not exist yet. The reference side needs Node and
dev/oracle/node_modules (dev/oracle/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import corpus  # noqa: E402

NOW_MS = 1704067200000
SETTINGS = {"apiKey": "bench-api-key", "secretKey": "bench-secret", "endpoint": "north_america"}


def run_reference(corpus_path: str, seconds: float, mode: str) -> dict[str, Any] | None:
    script = os.path.join(HERE, "reference_transform.js")
    if not os.path.isdir(os.path.join(ROOT, "dev", "oracle", "node_modules")):
        print("reference: skipped (dev/oracle/node_modules missing; see dev/oracle/README.md)")
        return None
    cmd = ["node", script, "--corpus", corpus_path, "--seconds", str(seconds), "--mode", mode, "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"reference: failed: {p.stderr.strip()[-800:]}")
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def _load_amprelay() -> tuple[list[Any], Any, Any] | str:
    try:
        from amprelay.destination import Settings
        from amprelay.destination.presets import PRESETS
        from amprelay.engine import ActionError, Subscription, compile_subscription
    except Exception as exc:  # engine not there yet, or broken mid-development
        return f"{type(exc).__name__}: {exc}"
    subs = [compile_subscription(Subscription(name=p.name, trigger=p.subscribe, action_key=p.action, mapping=p.mapping))
            for p in PRESETS]
    return subs, Settings.from_dict(SETTINGS), ActionError


def run_amprelay(events: list[dict[str, Any]], seconds: float, warmup: float = 1.0) -> dict[str, Any] | None:
    loaded = _load_amprelay()
    if isinstance(loaded, str):
        print(f"amprelay: skipped (amprelay.engine not usable yet: {loaded})")
        return None
    subs, settings, action_error = loaded
    counters = {"requests": 0, "errors": 0, "bytes": 0}
    # the garbage collector's policy of amprelay's processes (amprelay.engine.settle_heap), which
    # keeps the corpus out of the collector's full passes, as startup's objects are in the relay
    from amprelay.engine import settle_heap

    settle_heap()

    def one_pass(evts: list[dict[str, Any]]) -> None:
        requests = errors = nbytes = 0
        for ev in evts:
            for sub in subs:
                if sub.matches(ev):
                    try:
                        reqs = sub.run(ev, settings, NOW_MS)
                    except action_error:
                        errors += 1
                        continue
                    for r in reqs:
                        nbytes += len(r.body_bytes())
                    requests += len(reqs)
        counters["requests"] += requests
        counters["errors"] += errors
        counters["bytes"] += nbytes

    t_end = time.perf_counter() + warmup
    while time.perf_counter() < t_end:
        one_pass(events[:2000])
    for k in counters:
        counters[k] = 0
    n = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    while True:
        one_pass(events)
        n += len(events)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if cpu >= seconds:
            break
    return {"engine": "amprelay", "python": sys.version.split()[0], "events": n, "seconds": round(elapsed, 3),
            "cpu_seconds": round(cpu, 3), "events_per_s": round(n / cpu), "events_per_wall_s": round(n / elapsed),
            "requests": counters["requests"],
            "requests_per_event": round(counters["requests"] / n, 4), "body_bytes": counters["bytes"],
            "errors": counters["errors"]}


def run_floor(events: list[dict[str, Any]], seconds: float = 2.0) -> int:
    """The floor: events per CPU second of ``orjson.loads`` + ``orjson.dumps`` of the same events
    (what any transform of JSON in and JSON out costs at least)."""
    import orjson

    raw = [orjson.dumps(ev) for ev in events]
    n = 0
    c0 = time.process_time()
    while time.process_time() - c0 < seconds:
        for r in raw:
            orjson.dumps(orjson.loads(r))
        n += len(raw)
    return round(n / (time.process_time() - c0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="corpus size (events)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="minimum CPU seconds timed per engine (rates are per CPU second of the benchmark "
                         "process, so other load on the machine does not skew them; wall-clock rates are shown too)")
    ap.add_argument("--mode", default="onEvent", choices=["onEvent", "execute"],
                    help="reference path: Destination.onEvent (default, what Segment runs) or pre-parsed triggers")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--skip-amprelay", action="store_true")
    a = ap.parse_args(argv)

    events = corpus.generate(a.n, a.seed)
    print(f"corpus: {len(events)} events, seed {a.seed} (bench/corpus.py)")
    ref = amp = None
    if not a.skip_reference:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
            corpus.write_jsonl(events, fh)
            path = fh.name
        try:
            ref = run_reference(path, a.seconds, a.mode)
        finally:
            os.unlink(path)
        if ref:
            print(f"reference ({ref['mode']}, node {ref['node']}): {ref['events_per_s']} events/s per CPU second "
                  f"(wall clock {ref['events_per_wall_s']}/s; {ref['events']} events; "
                  f"{ref['requests_per_event']} requests/event, {ref['errors']} errors)")
    if not a.skip_amprelay:
        amp = run_amprelay(events, a.seconds)
        if amp:
            print(f"amprelay (python {amp['python']}): {amp['events_per_s']} events/s per CPU second "
                  f"(wall clock {amp['events_per_wall_s']}/s; {amp['events']} events; "
                  f"{amp['requests_per_event']} requests/event, {amp['errors']} errors)")
    if amp:
        floor = run_floor(events)
        print(f"floor (orjson loads + dumps of the same events): {floor} events/s per CPU second; "
              f"amprelay is {amp['events_per_s'] / floor:.2f} of it")
    if ref and amp:
        if abs(ref["requests_per_event"] - amp["requests_per_event"]) > 1e-9:
            print(f"warning: requests/event differ (reference {ref['requests_per_event']}, "
                  f"amprelay {amp['requests_per_event']}): the engines do not do the same work")
        print(f"ratio amprelay/reference: {amp['events_per_s'] / ref['events_per_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
