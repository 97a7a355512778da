"""`amprelay preview`: the exact requests the destination would send for an event.

* ``amprelay preview --jsonl [--now MS]`` reads conformance cases (one JSON object a line) on
  stdin and writes one answer a line (format: tests/conformance/README.md).
* ``amprelay preview --config amprelay.yaml [--destination NAME] events.json`` runs the events
  through the configured destinations with the relay's compiled subscriptions (those of
  ``serve`` and the console's event tester, :func:`amprelay.relay.trial.try_event`): which
  subscriptions fire and the exact requests, secrets masked. Nothing is sent or stored, and no
  secret needs to be set.
* ``amprelay preview [--action KEY] [--mapping m.json] [--settings s.json] event.json`` prints
  the requests readably, secrets masked. Without ``--action`` every preset whose trigger matches
  the event runs.

Events: one JSON object, an array of them, a ``{"batch": [...]}`` body, or one object a line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preview",
        help="show the exact requests the destination would send for an event",
        description="Show the HTTP requests the Amplitude (Actions) destination sends for an event. "
        "With --jsonl, answer conformance cases read on stdin (one JSON object a line).",
    )
    p.add_argument("event", nargs="?", help="events JSON file: an object, an array, a batch or JSON lines "
                                            "('-' for stdin)")
    p.add_argument("--config", "-c", metavar="FILE", help="run the events through this config's destinations and "
                   "subscriptions, as `serve` does (no secret needed)")
    p.add_argument("--destination", "-d", metavar="NAME", help="with --config: only this destination")
    p.add_argument("--source", metavar="NAME", help="with --config: the events come from this source "
                   "(destinations limited to other sources skip them)")
    p.add_argument("--json", action="store_true", help="with --config: one JSON object per event")
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
    from amprelay.cli.main import CommandError

    if args.jsonl:
        if args.config or args.event:
            raise CommandError("--jsonl reads conformance cases on stdin: give it no event file and no --config")
        return run_jsonl(sys.stdin.buffer, sys.stdout.buffer, args.now)
    if args.config:
        given = [f"--{k}" for k in ("action", "mapping", "trigger", "settings") if getattr(args, k)]
        if given:
            raise CommandError(f"--config runs the configured subscriptions; {', '.join(given)} "
                               "belong to a single action without one")
        return run_config(args)
    given = [f"--{k}" for k in ("destination", "source", "json") if getattr(args, k)]
    if given:
        raise CommandError(f"{', '.join(given)} need --config")
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


def _usage_error(message: str) -> int:
    print(f"amprelay preview: {message}", file=sys.stderr)
    return 1


def run_friendly(args: argparse.Namespace) -> int:
    from rich.console import Console

    from amprelay.cli._amplitude import SettingsFileError, load_settings, read_json_file
    from amprelay.destination import ACTIONS, PRESETS
    from amprelay.engine import ActionError, CompiledAction
    from amprelay.triggers import compile_trigger

    console = Console()
    if not args.event:
        return _usage_error("give an event JSON file (or '-' for stdin), or use --jsonl")
    try:
        event = read_json_file(args.event)
        mapping = read_json_file(args.mapping) if args.mapping else None
        settings = load_settings(args.settings)
    except SettingsFileError as exc:
        return _usage_error(str(exc))
    if not isinstance(event, dict):
        return _usage_error(f"{args.event}: the event must be a JSON object")

    runs: list[tuple[str, str, Any]] = []  # (label, action key, mapping)
    if args.action:
        if args.action not in ACTIONS:
            return _usage_error(f"unknown action {args.action!r}; one of: {', '.join(ACTIONS)}")
        if args.trigger:
            trigger = compile_trigger(args.trigger)
            if trigger.error is not None:
                return _usage_error(f"invalid trigger: {trigger.error.message}")
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


def read_events(path: str) -> list[Any]:
    """The events of a file: one JSON object, an array, a ``{"batch": [...]}`` body or JSON lines."""
    from amprelay.cli.main import CommandError
    from amprelay.destination.js import js_json_loads

    try:
        raw = Path(path).read_bytes() if path != "-" else sys.stdin.buffer.read()
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}") from None
    try:
        doc = js_json_loads(raw)
    except ValueError as whole:
        lines = [(i, line) for i, line in enumerate(raw.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise CommandError(f"{path}: not valid JSON ({whole})") from None
        docs = []
        for i, line in lines:
            try:
                docs.append(js_json_loads(line))
            except ValueError as exc:
                raise CommandError(f"{path}:{i}: not valid JSON ({exc})") from None
        return docs
    if isinstance(doc, dict) and isinstance(doc.get("batch"), list):
        return doc["batch"]
    return doc if isinstance(doc, list) else [doc]


def request_json(request: Any, base_url: str | None) -> dict[str, Any]:
    from amprelay.destination.endpoints import rebase_url
    from amprelay.destination.settings import mask_secrets

    out = {"method": request.method, "url": request.url, "content_type": request.content_type,
           "body": mask_secrets(request.decoded_body())}
    if base_url:
        out["sent_to"] = rebase_url(request.url, base_url)
    return out


def run_config(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import orjson
    from rich.console import Console

    from amprelay.cli.main import CommandError
    from amprelay.config import load_config
    from amprelay.relay.compiled import compile_destination
    from amprelay.relay.trial import try_event

    if not args.event:
        raise CommandError("give an events JSON file (or '-' for stdin)")
    cfg = load_config(args.config, secrets=False).config
    dests = [d for d in cfg.destinations if args.destination in (None, d.name)]
    if not dests:
        raise CommandError(f"{args.config} has no destination {args.destination!r}; it has: "
                           f"{', '.join(d.name for d in cfg.destinations) or '(none)'}")
    if args.source is not None and args.source not in {s.name for s in cfg.sources}:
        raise CommandError(f"{args.config} has no source {args.source!r}")
    events = read_events(args.event)
    compiled = [compile_destination(d) for d in dests]  # what `serve` compiles
    now = datetime.fromtimestamp(args.now / 1000, UTC) if args.now is not None else None
    base_url = cfg.delivery.amplitude_url
    console = Console(soft_wrap=True)
    status = 0
    for n, event in enumerate(events, 1):
        trial = try_event(compiled, event, source=args.source, now=now, now_ms=args.now)
        failed = bool(trial.problems) or any(s.error for d in trial.destinations for s in d.subscriptions)
        status = status or int(failed)
        if args.json:
            sys.stdout.write(orjson.dumps({
                "event": n, "problems": trial.problems, "destinations": [{
                    "name": d.name, "skipped": d.skipped,
                    "fired": [{"name": s.name, "action": s.action, "error": s.error,
                               "requests": [request_json(r, base_url) for r in s.requests]} for s in d.fired],
                    "not_fired": [s.name for s in d.subscriptions if not s.matched],
                } for d in trial.destinations]}).decode() + "\n")
            continue
        print_trial(console, n, event, trial, base_url)
    return status


def print_trial(console: Any, n: int, event: Any, trial: Any, base_url: str | None) -> None:
    from rich.markup import escape

    what = event.get("event") or event.get("name") or "" if isinstance(event, dict) else ""
    kind = event.get("type", "?") if isinstance(event, dict) else type(event).__name__
    console.rule(f"[bold]event {n}[/]: {escape(str(kind))}" + (f" {escape(repr(what))}" if what else ""))
    if trial.problems:
        console.print(f"[red]ingest would reject it:[/] {escape('; '.join(trial.problems))}")
        return
    for dest in trial.destinations:
        if dest.skipped:
            console.print(f"destination [bold]{escape(dest.name)}[/]: skipped, {escape(dest.skipped)}")
            continue
        console.print(f"destination [bold]{escape(dest.name)}[/]: {len(dest.fired)} of "
                      f"{len(dest.subscriptions)} subscriptions fire")
        for sub in dest.fired:
            console.print(f"[green]fires[/] {escape(sub.name)} ({sub.action}) when {escape(sub.trigger)}")
            if sub.error:
                console.print(f"  [red]error:[/] {escape(sub.error)}")
                continue
            print_requests(console, sub.requests)
            if base_url:
                console.print(f"  (sent to {escape(base_url)}, the config's delivery.amplitude_url)")
        rest = [s.name + ("" if s.enabled else " [disabled]") for s in dest.subscriptions if not s.matched]
        if rest:
            console.print(f"[dim]not fired: {escape(', '.join(rest))}[/]")


def print_requests(console: Any, requests: list[Any]) -> None:
    from rich.json import JSON
    from rich.text import Text

    from amprelay.destination.request import to_json_text
    from amprelay.masking import mask_value

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
        console.print(JSON(to_json_text(mask_value(request.decoded_body())), indent=2))
