"""The ``amprelay`` command. Each subcommand lives in its own module of this package and
exposes ``register(subparsers)``; the module's parser sets ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys

from amprelay import __version__

# Subcommand modules, in the order `amprelay --help` lists them.
COMMAND_MODULES = (
    "demo",
    "serve",
    "validate",
    "preview",
    "replay",
    "fake_amplitude",
    "dlq",
    "check_auth",
    "delete_user",
    "migrate",
    "import_export",
    "migrate_classic",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amprelay",
        description="Self-hosted Amplitude (Actions) destination for Segment-spec events.",
    )
    parser.add_argument("--version", action="version", version=f"amprelay {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"amprelay.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
