#!/usr/bin/env python3
"""Profile amprelay's side of bench/compare_transform.py only (no corpus generation, no floor):

    PYTHONPATH=src .venv/bin/python dev/profile_transform.py [--seconds 5] [--sort tottime] [--top 50]
    PYTHONPATH=src .venv/bin/python dev/profile_transform.py --no-profile   # CPU per event only
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import compare_transform  # noqa: E402
import corpus  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--top", type=int, default=50)
    ap.add_argument("--no-profile", action="store_true")
    a = ap.parse_args()
    events = corpus.generate(a.n, 1)
    if a.no_profile:
        out = compare_transform.run_amprelay(events, a.seconds)
        assert out is not None
        print(f"{out['events_per_s']} events/CPU-s, {1e6 / out['events_per_s']:.2f} us CPU/event")
        return 0
    prof = cProfile.Profile()
    t0 = time.process_time()
    prof.enable()
    compare_transform.run_amprelay(events, a.seconds, warmup=0.2)
    prof.disable()
    print(f"profiled {time.process_time() - t0:.1f} CPU-s")
    pstats.Stats(prof).sort_stats(a.sort).print_stats(a.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
