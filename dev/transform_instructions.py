#!/usr/bin/env python3
"""Instructions per event of each stage of bench/compare_transform.py's amprelay side, counted
with valgrind's callgrind: deterministic, so old and new code compare on a loaded machine where
CPU seconds do not (the count is not time: a scan that mispredicts costs more than its count).

    dev/transform_instructions.py                       # this checkout's src
    dev/transform_instructions.py --src /work/main/src  # another checkout's code
    dev/transform_instructions.py --stages pay,perf     # stages: pay, perf, body, match
    dev/transform_instructions.py --stages loop         # the bench's loop, all stages per event

Each stage runs ``--passes`` times over a 1,000-event corpus after a warm-up (one-pass functions
built); a run with no stage is subtracted (start-up, corpus, warm-up). About 30 s per run. The
stages run apart miss what one event's stages share (validation's read of ``time`` is what the
action's conversion reuses): ``loop`` runs them as the bench does.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DRIVER = r'''
import sys
sys.path.insert(0, sys.argv[3])
import compare_transform as ct, corpus
subs, settings, err = ct._load_amprelay()
events = corpus.generate(1000, 1)
work = []
for ev in events:
    for s in subs:
        if s.matches(ev):
            try:
                s.run(ev, settings, ct.NOW_MS)
                s.run(ev, settings, ct.NOW_MS)
            except err:
                continue
            work.append((s, ev))
pays = [(s, ev, s.action.payload(ev)) for s, ev in work]
reqs = [r for s, ev in work for r in s.run(ev, settings, ct.NOW_MS)]
def pay():
    for s, ev in work:
        s.action.payload(ev)
def perf():
    for s, ev, p in pays:
        s.action._perform(p, settings, s.action._ctx)
def body():
    for r in reqs:
        r.body_bytes()
def match():
    for ev in events:
        for s in subs:
            s.matches(ev)
def loop():  # what bench/compare_transform.py times: every stage in turn, per event
    for ev in events:
        for s in subs:
            if s.matches(ev):
                try:
                    for r in s.run(ev, settings, ct.NOW_MS):
                        r.body_bytes()
                except err:
                    pass
stage = {"pay": pay, "perf": perf, "body": body, "match": match, "loop": loop}.get(sys.argv[1])
for _ in range(int(sys.argv[2]) if stage else 0):
    stage()
'''


def count(src: str, stage: str, passes: int) -> int:
    env = {**os.environ, "PYTHONPATH": src, "PYTHONHASHSEED": "0"}  # the same dict and set layouts each run
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                        DRIVER, stage, str(passes), os.path.join(ROOT, "bench")],
                       env=env, capture_output=True, text=True, check=True)
    m = re.search(r"Collected : (\d+)", p.stderr)
    assert m is not None, p.stderr[-2000:]
    return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default=os.path.join(ROOT, "src"))
    ap.add_argument("--stages", default="pay,perf,body,match")
    ap.add_argument("--passes", type=int, default=3)
    a = ap.parse_args()
    base = count(a.src, "none", 0)
    total = 0
    for stage in a.stages.split(","):
        per_event = (count(a.src, stage, a.passes) - base) // (a.passes * 1000)
        total += per_event
        print(f"{stage:6s} {per_event:>8,} instructions/event")
    print(f"{'sum':6s} {total:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
