"""`amprelay migrate`: create or upgrade the queue's schema."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("migrate", help="create or upgrade the queue's database schema",
                       description="Apply the queue schema migrations (PostgreSQL: amprelay_* tables, version in "
                                   "amprelay_schema). Safe to run from several machines at once.")
    p.add_argument("--config", "-c", help="config file (default: amprelay.yaml if it exists)")
    p.add_argument("--dsn", help="PostgreSQL DSN (overrides the config's queue.dsn)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    dsn = args.dsn
    backend = "postgres" if dsn else None
    if dsn is None:
        from amprelay.config import ConfigError, load_config

        path = args.config or ("amprelay.yaml" if os.path.exists("amprelay.yaml") else None)
        if path is None:
            print("migrate: give --dsn or a config file with queue: {backend: postgres, dsn: ...}", file=sys.stderr)
            return 2
        try:
            cfg = load_config(path).config
        except ConfigError as exc:
            print(f"migrate: {'; '.join(map(str, exc.problems))}", file=sys.stderr)
            return 1
        backend, dsn = cfg.queue.backend, cfg.queue.dsn
    if backend == "sqlite":
        print("the SQLite store needs no migration: its schema is created when the relay opens it")
        return 0
    import psycopg

    from amprelay.store.postgres import migrate

    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            before, after = migrate(conn)
    except psycopg.Error as exc:
        print(f"migrate: PostgreSQL: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    if before == after:
        print(f"schema is up to date (version {after})")
    else:
        print(f"schema migrated from version {before} to {after}")
    return 0
