"""The actions engine on one core: trigger evaluations/s for the page's preset triggers, and
Log Event V2 default-mapping evaluations/s (mapping alone, and mapping + field validation and
coercion, i.e. the payload `perform` receives), over the seeded realistic corpus.

    .venv/bin/python bench/engine.py [--seconds 3] [--n 20000]

Goals (issue 2): preset triggers >= 1,000,000 evaluations/s; Log Event V2 default mapping
>= 50,000 events/s. Rates are CPU time on this process's one thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import generate  # noqa: E402

from amprelay.destination import ACTIONS, PRESETS  # noqa: E402
from amprelay.fields import (
    compile_validator,  # noqa: E402
    default_mapping,  # noqa: E402
)
from amprelay.mapping import compile_mapping  # noqa: E402
from amprelay.triggers import compile_trigger  # noqa: E402

SESSION_TRIGGER = 'type = "track" or type = "identify" or type = "group" or type = "page" or type = "alias"'


def cpu_rate(fn, events, seconds: float) -> float:
    n = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for e in events:
            fn(e)
        n += len(events)
    return n / (time.process_time() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    events = generate(args.n, args.seed)
    print(f"corpus: {len(events)} events (seed {args.seed}), {args.seconds:.0f} CPU s per measurement")

    print("triggers (evaluations/s):")
    triggers = [(p.name, p.subscribe) for p in PRESETS] + [("Browser Session Tracking", SESSION_TRIGGER)]
    for name, text in triggers:
        matches = compile_trigger(text).matches
        print(f"  {name:<26} {cpu_rate(matches, events, args.seconds):>12,.0f}/s   {text}")

    mapping = compile_mapping(default_mapping(ACTIONS["logEventV2"].fields))
    validator = compile_validator(ACTIONS["logEventV2"].fields)
    validate = validator if callable(validator) else validator.validate
    evaluate = mapping.evaluate
    print("Log Event V2 default mapping (events/s):")
    print(f"  mapping only (all events)  {cpu_rate(evaluate, events, args.seconds):>12,.0f}/s")
    tracks = [e for e in events if e.get("type") == "track"]  # events the Track Calls preset maps
    print(f"  mapping only (track events){cpu_rate(evaluate, tracks, args.seconds):>12,.0f}/s")
    print(f"  mapping + validation       {cpu_rate(lambda e: validate(evaluate(e)), tracks, args.seconds):>12,.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
