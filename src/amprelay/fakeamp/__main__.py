"""``python -m amprelay.fakeamp [...]``: same flags as ``amprelay fake-amplitude`` (used by
``start_process``; it does not import the other subcommands)."""

from __future__ import annotations

import sys

from amprelay.fakeamp.command import build_parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser("python -m amprelay.fakeamp").parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
