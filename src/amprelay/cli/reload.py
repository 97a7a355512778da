"""`amprelay reload`: make the running relay read its config again (as SIGHUP does) and print
the outcome. It finds the relay through ``<data_dir>/amprelay.pid`` and waits for the relay's
answer in ``<data_dir>/reload-status.json``: no token and no HTTP, but the same machine."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import orjson


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reload", help="make the running relay reload its config (SIGHUP) and print the outcome",
        description="Signal the relay serving from the data dir to read its config file again. Sources and "
                    "destinations (subscriptions, mappings, settings) apply to messages accepted after it; an "
                    "invalid config is refused with its errors and the running one is kept. Exits 0 when the "
                    "new config runs, 1 when it was refused, 2 when no relay answered.")
    p.add_argument("--data-dir", help="the relay's data dir (default: data_dir of --config, else ./data)")
    p.add_argument("--config", "-c", help="the config file the relay runs (only its data_dir is read)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the relay's answer (default 30)")
    p.set_defaults(func=run)


def data_dir_of(args: argparse.Namespace) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    path = args.config or ("amprelay.yaml" if os.path.exists("amprelay.yaml") else None)
    if path:
        import yaml

        from amprelay.config import ENV_PATTERN

        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            from amprelay.cli.main import CommandError

            raise CommandError(f"cannot read {path}: {' '.join(str(exc).split())}") from None
        if isinstance(raw, dict) and isinstance(raw.get("data_dir"), str):
            return Path(ENV_PATTERN.sub(lambda m: os.environ.get(m.group(1)) or m.group(2) or "", raw["data_dir"]))
    return Path(os.environ.get("AMPRELAY_DATA_DIR") or "./data")


def _status(path: Path) -> dict[str, Any] | None:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def run(args: argparse.Namespace) -> int:
    from amprelay.relay.reload import PID_FILE, STATUS_FILE

    data_dir = data_dir_of(args)
    pid_path = data_dir / PID_FILE
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        print(f"amprelay reload: no running relay found ({pid_path} is missing or unreadable; "
              "is `amprelay serve` running with this data dir?)", file=sys.stderr)
        return 2
    status_path = data_dir / STATUS_FILE
    before = _status(status_path)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        print(f"amprelay reload: the relay of {pid_path} (pid {pid}) is not running", file=sys.stderr)
        return 2
    except PermissionError:
        print(f"amprelay reload: not allowed to signal pid {pid} (run as the relay's user)", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        now = _status(status_path)
        if now is not None and now.get("pid") == pid and (
                before is None or (now.get("pid"), now.get("seq")) != (before.get("pid"), before.get("seq"))):
            return _report(now)
        time.sleep(0.05)
    print(f"amprelay reload: pid {pid} did not answer within {args.timeout:g} s; see its log", file=sys.stderr)
    return 2


def _report(status: dict[str, Any]) -> int:
    if status.get("ok"):
        print(f"reloaded: config generation {status.get('generation')}")
        for w in status.get("warnings") or []:
            print(f"warning: {w}")
        if status.get("restart_needed"):
            print(f"changed, applied after a restart only: {', '.join(status['restart_needed'])}")
        return 0
    print("amprelay reload: the new config is invalid; the relay keeps running the old one:", file=sys.stderr)
    for e in status.get("errors") or []:
        print(f"  {e}", file=sys.stderr)
    return 1
