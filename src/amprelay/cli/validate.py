"""`amprelay validate`: check a config file without starting anything."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a config file without starting anything",
                       description="Validate amprelay.yaml: keys (with suggestions for typos), environment "
                                   "variables, sources, destinations, triggers, mappings, limits; and lint the "
                                   "triggers (conditions that can never match, operators the reference drops). "
                                   "Exits 0 when valid, 1 with one line per problem (file:line) otherwise; "
                                   "warnings do not fail it unless --strict.")
    p.add_argument("config", nargs="?", default="amprelay.yaml", help="config file (default: amprelay.yaml)")
    p.add_argument("--strict", action="store_true", help="exit 1 when there are warnings too")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from amprelay.cli.main import print_config_error
    from amprelay.config import ConfigError, all_subscriptions, load_config

    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        print_config_error("amprelay validate", exc)
        return 1
    cfg = loaded.config
    print(f"{args.config}: valid" + (f", {_plural(len(loaded.warnings), 'warning')}" if loaded.warnings else ""))
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
    sys.stdout.flush()
    for w in loaded.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if loaded.warnings and args.strict:
        print(f"amprelay validate: {_plural(len(loaded.warnings), 'warning')} (--strict)", file=sys.stderr)
        return 1
    return 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
