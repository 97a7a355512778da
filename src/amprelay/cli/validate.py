"""`amprelay validate`: check a config file without starting anything."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a config file without starting anything",
                       description="Validate amprelay.yaml: sources, destinations, triggers, mappings, limits. "
                                   "Exits 0 when valid, 1 with one line per problem (file:line) otherwise.")
    p.add_argument("config", nargs="?", default="amprelay.yaml", help="config file (default: amprelay.yaml)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from amprelay.config import ConfigError, all_subscriptions, load_config

    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        print(f"{args.config}: invalid ({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''})",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    cfg = loaded.config
    for w in loaded.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{args.config}: valid")
    print(f"  sources: {', '.join(s.name for s in cfg.sources) or '(none)'}")
    for dest in cfg.destinations:
        subs = all_subscriptions(dest)
        enabled = sum(1 for s in subs if s.enabled)
        region = dest.settings.get("endpoint", "north_america")
        print(f"  destination {dest.name}: {len(subs)} subscriptions ({enabled} enabled), region {region}")
        for s in subs:
            flag = "" if s.enabled else " [disabled]"
            print(f"    - {s.name}: {s.action} when {s.trigger}{flag}")
    print(f"  queue: {cfg.queue.backend}")
    return 0
