"""`amprelay preview`: the exact requests the destination would send for an event.

* ``amprelay preview --jsonl [--now MS]`` reads conformance cases (one JSON object a line) on
  stdin and writes one answer a line (format: tests/conformance/README.md).
* ``amprelay preview [--action KEY] [--mapping m.json] [--settings s.json] event.json`` prints
  the requests readably, secrets masked. Without ``--action`` every preset whose trigger matches
  the event runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preview",
        help="show the exact requests the destination would send for an event",
        description="Show the HTTP requests the Amplitude (Actions) destination sends for an event. "
        "With --jsonl, answer conformance cases read on stdin (one JSON object a line).",
    )
    p.add_argument("event", nargs="?", help="event JSON file ('-' for stdin)")
    p.add_argument("--jsonl", action="store_true", help="read cases on stdin, write one answer a line")
    p.add_argument("--now", type=int, metavar="MS", help="freeze 'now' at this epoch-ms value")
    p.add_argument("--action", help="action key: logEvent, logEventV2, logPurchase, identifyUser, "
                   "groupIdentifyUser, mapUser (default: the presets whose trigger matches)")
    p.add_argument("--mapping", metavar="FILE", help="mapping JSON file (default: the action's default mapping)")
    p.add_argument("--trigger", help="only run when this FQL trigger matches the event")
    from amprelay.cli._amplitude import add_settings_arguments

    add_settings_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.jsonl:
        return run_jsonl(sys.stdin.buffer, sys.stdout.buffer, args.now)
    return run_friendly(args)


def run_jsonl(stdin: Any, stdout: Any, now_ms: int | None) -> int:
    from amprelay.conformance import run_case
    from amprelay.destination.js import js_json_loads
    from amprelay.destination.request import to_json_bytes

    write = stdout.write
    for line in stdin:
        if not line.strip():
            continue
        try:
            case = js_json_loads(line)
        except ValueError as exc:
            answer: dict[str, Any] = {"id": None, "error": {"name": "SyntaxError", "message": str(exc)}}
        else:
            if not isinstance(case, dict):
                answer = {"id": None, "error": {"name": "SyntaxError", "message": "a case must be a JSON object"}}
            else:
                answer = run_case(case, now_ms)
        write(to_json_bytes(answer) + b"\n")
    stdout.flush()
    return 0


def _fail(console: Any, message: str) -> int:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return 1


def run_friendly(args: argparse.Namespace) -> int:
    from rich.console import Console

    from amprelay.cli._amplitude import SettingsFileError, load_settings, read_json_file
    from amprelay.destination import ACTIONS, PRESETS
    from amprelay.engine import ActionError, CompiledAction
    from amprelay.triggers import compile_trigger

    console = Console()
    err = Console(stderr=True)
    if not args.event:
        return _fail(err, "give an event JSON file (or '-' for stdin), or use --jsonl")
    try:
        event = read_json_file(args.event)
        mapping = read_json_file(args.mapping) if args.mapping else None
        settings = load_settings(args.settings)
    except SettingsFileError as exc:
        return _fail(err, str(exc))
    if not isinstance(event, dict):
        return _fail(err, f"{args.event}: the event must be a JSON object")

    runs: list[tuple[str, str, Any]] = []  # (label, action key, mapping)
    if args.action:
        if args.action not in ACTIONS:
            return _fail(err, f"unknown action {args.action!r}; one of: {', '.join(ACTIONS)}")
        if args.trigger:
            trigger = compile_trigger(args.trigger)
            if trigger.error is not None:
                return _fail(err, f"invalid trigger: {trigger.error.message}")
            if not trigger.matches(event):
                console.print(f"[yellow]trigger does not match:[/] {args.trigger}", highlight=False)
                return 0
        runs.append((ACTIONS[args.action].title, args.action, mapping))
    else:
        for preset in PRESETS:
            if compile_trigger(preset.subscribe).matches(event):
                runs.append((f"preset {preset.name!r}", preset.action, preset.mapping))
        if not runs:
            console.print("[yellow]no preset matches this event[/] (use --action to run one)", highlight=False)
            return 0

    status = 0
    for label, action_key, action_mapping in runs:
        console.rule(f"[bold]{label}[/] → {ACTIONS[action_key].title} ({action_key})")
        try:
            requests = CompiledAction(action_key, action_mapping).run(event, settings, args.now)
        except ActionError as exc:
            _fail(console, f"{exc.name}: {exc.message}")
            status = 1
            continue
        print_requests(console, requests)
    return status


def print_requests(console: Any, requests: list[Any]) -> None:
    from rich.json import JSON
    from rich.text import Text

    from amprelay.destination.request import to_json_text
    from amprelay.destination.settings import mask_secrets

    if not requests:
        console.print("(no requests)")
    for i, request in enumerate(requests, 1):
        head = Text()
        head.append(f"[{i}] ", style="dim")
        head.append(request.method, style="bold cyan")
        head.append(" ")
        head.append(request.url, style="bold")
        head.append(f"  ({request.content_type})", style="dim")
        console.print(head)
        console.print(JSON(to_json_text(mask_secrets(request.decoded_body())), indent=2))
