"""`amprelay import-segment` and `amprelay export-segment`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-segment", help="turn a Segment Actions Amplitude destination into amprelay.yaml",
                       description="Read a destination's settings and subscriptions as Segment's Public API "
                                   "returns them (JSON) and write an amprelay config that behaves identically. "
                                   "Secrets become ${ENV} references. Anything that can't be carried over is "
                                   "listed; the command then exits 1 unless --allow-partial.")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE",
                   help="the Public API answers: GET /destinations/{id} and GET /destinations/{id}/subscriptions, "
                        "as two files or combined in one (see docs/segment-import.md)")
    p.add_argument("-o", "--output", type=Path, help="write the config here (default: stdout)")
    p.add_argument("--allow-partial", action="store_true", help="write the config even if something was dropped")
    p.add_argument("--name", help="destination name in the config (default: from the export)")
    p.set_defaults(func=run_import)

    e = sub.add_parser("export-segment", help="write a config's subscriptions in Segment's Public API shape",
                       description="The reverse of import-segment: the destination's subscriptions (name, "
                                   "actionSlug, enabled, trigger, settings = the full mapping) as JSON. Secrets "
                                   "are never written.")
    e.add_argument("--config", "-c", default="amprelay.yaml", help="config file (default: amprelay.yaml)")
    e.add_argument("--destination", help="which destination (default: the first)")
    e.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")
    e.set_defaults(func=run_export)


def run_import(args: argparse.Namespace) -> int:
    import orjson
    import yaml

    from amprelay.config import ConfigError, parse_config
    from amprelay.portability.segment import import_segment

    if len(args.files) > 2:
        print("import-segment: give one or two files (the destination and its subscriptions)", file=sys.stderr)
        return 2
    docs = []
    for path in args.files:
        try:
            docs.append(orjson.loads(path.read_bytes()))
        except OSError as exc:
            print(f"import-segment: {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        except orjson.JSONDecodeError as exc:
            print(f"import-segment: {path}: not valid JSON ({exc})", file=sys.stderr)
            return 2
    try:
        result = import_segment(*docs, destination_name=args.name)
    except ValueError as exc:
        print(f"import-segment: {', '.join(map(str, args.files))}: {exc}", file=sys.stderr)
        return 2
    text = "# Imported from Segment by `amprelay import-segment`.\n# Set in the environment: " + \
        ", ".join(f"{k} ({v})" for k, v in result.env.items()) + "\n" + \
        yaml.safe_dump(result.config, sort_keys=False, allow_unicode=True, width=120)
    env = dict.fromkeys(result.env, "placeholder")
    try:
        parse_config(text, "<imported>", env)
    except ConfigError as exc:  # what we produced must load; say exactly why not
        for config_problem in exc.problems:
            result.problems.append(f"the imported config does not validate: {config_problem}")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for problem in result.problems:
        print(f"not carried over: {problem}", file=sys.stderr)
    n = len(result.config["destinations"][0]["subscriptions"])
    if result.problems and not args.allow_partial:
        print(f"import-segment: {len(result.problems)} problem(s); nothing written (use --allow-partial to "
              f"write the {n} subscription(s) that could be carried over)", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}: {n} subscription(s)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_export(args: argparse.Namespace) -> int:
    import orjson

    from amprelay.config import ConfigError, load_config
    from amprelay.portability.segment import export_segment

    try:
        loaded = load_config(args.config, env=_placeholder_env(args.config))
        doc = export_segment(loaded.config, args.destination)
    except ConfigError as exc:
        print(f"export-segment: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"export-segment: {exc}", file=sys.stderr)
        return 2
    data = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    if args.output:
        args.output.write_bytes(data)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def _placeholder_env(path: str) -> dict[str, str]:
    """Exporting needs no secret: every ${VAR} resolves to a placeholder (never written out)."""
    import os
    import re

    env = dict(os.environ)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return env
    for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text):
        env.setdefault(name, f"<{name}>")
    return env
