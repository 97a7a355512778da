"""The ``amprelay`` command. Each subcommand lives in its own module of this package and
exposes ``register(subparsers)``; the module's parser sets ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NoReturn

from amprelay import __version__
from amprelay.errors import AmprelayError

# Subcommand modules, in the order `amprelay --help` lists them.
COMMAND_MODULES = (
    "demo",
    "serve",
    "reload",
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


class CommandError(AmprelayError):
    """A user mistake a command reports as one line (``amprelay <command>: <message>``), exit 2."""


class Parser(argparse.ArgumentParser):
    """Usage mistakes in one line, naming the command and where its help is (subparsers share
    the class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")

    def parse_known_args(self, args=None, namespace=None):
        # Remember the innermost (sub)command's parser: it reports unrecognized arguments.
        namespace, extras = super().parse_known_args(args, namespace)
        if not hasattr(namespace, "_parser"):
            namespace._parser = self
        return namespace, extras


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    args, extras = parser.parse_known_args(argv)
    if extras:
        args._parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from amprelay.config import ConfigError

    command = f"amprelay {args.command}"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except CommandError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print_config_error(command, exc)
        return 1
    except OSError as exc:  # the machine said no: a port in use, a directory that can't be written
        print(f"{command}: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), file=sys.stderr)
        return 1


def print_config_error(command: str, exc: Any) -> None:
    """One line for one problem; else a heading and a line per problem."""
    if len(exc.problems) == 1:
        print(f"{command}: {exc.problems[0]}", file=sys.stderr)
        return
    print(f"{command}: the configuration is invalid ({len(exc.problems)} problems):", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
