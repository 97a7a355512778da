"""`amprelay migrate-classic`: Amplitude Classic settings -> Actions subscriptions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("migrate-classic", help="turn Amplitude Classic settings into Actions subscriptions",
                       description="Read the Classic destination's settings JSON and write the Actions "
                                   "subscriptions the product page's 'Amplitude settings mappings' describe. "
                                   "Prints a table: each Classic setting and what it became.")
    p.add_argument("file", type=Path, help="the Classic destination's settings (JSON)")
    p.add_argument("-o", "--output", type=Path, help="write the config here (default: stdout)")
    p.add_argument("--keep-classic-page-names", action="store_true",
                   help="keep Classic's page event names ('Loaded a Page', 'Viewed Home Page') instead of "
                        "Actions' ('Viewed Home')")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson
    import yaml
    from rich.console import Console
    from rich.table import Table

    from amprelay.portability.classic import migrate_classic

    try:
        settings = orjson.loads(args.file.read_bytes())
        migration = migrate_classic(settings, keep_classic_page_names=args.keep_classic_page_names)
    except (OSError, orjson.JSONDecodeError, ValueError) as exc:
        print(f"migrate-classic: {args.file}: {exc}", file=sys.stderr)
        return 2
    console = Console(stderr=True, soft_wrap=True)  # messages name long paths: never fold them
    table = Table(title="Amplitude Classic -> Amplitude (Actions)")
    table.add_column("Classic setting")
    table.add_column("value")
    table.add_column("became")
    for r in migration.rows:
        table.add_row(r.setting, str(r.value), r.became)
    console.print(table)
    for key in migration.unknown:
        console.print(f"[yellow]not migrated:[/] {key} (device-mode only or unknown to the Actions destination)")
    text = ("# Migrated from Amplitude Classic by `amprelay migrate-classic`.\n"
            "# Set AMPLITUDE_API_KEY, AMPLITUDE_SECRET_KEY and AMPRELAY_WRITE_KEY in the environment.\n"
            + yaml.safe_dump(migration.config, sort_keys=False, allow_unicode=True, width=120))
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        console.print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0
