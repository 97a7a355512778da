"""`amprelay dlq list|show|retry|purge`: the dead-letter store.

Units land there when Amplitude names them invalid (400), when one alone is too large (413),
when they stayed undeliverable past the maximum age, or when a message never became a request
(an invalid message, a mapping error). ``retry`` puts matching dead letters back in the queue,
where a running ``amprelay serve`` delivers them (their age starts again).

The store is found from ``--db`` (a SQLite file) or ``--dsn`` (a PostgreSQL queue), else the
config file's queue (``--config``, or ``amprelay.yaml`` in the working directory; SQLite or
PostgreSQL), read without resolving the secrets it never uses, else ``<data dir>/amprelay.sqlite3``
with the data dir from ``--data-dir``, ``AMPRELAY_DATA_DIR`` or ``./data``.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson

KINDS = ("events", "identify", "groupidentify", "usermap", "rejected")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dlq", help="list, show, retry or purge dead letters",
        description="The dead-letter store: units Amplitude rejected as invalid, units undeliverable past "
                    "the maximum age, messages that never became a request. `retry` puts them back through "
                    "delivery.",
    )
    dsub = p.add_subparsers(dest="dlq_command", metavar="ACTION")

    def common(sp: argparse.ArgumentParser, filters: bool = True) -> None:
        g = sp.add_argument_group("store")
        g.add_argument("--db", help="the SQLite file (default: from the config, else <data dir>/amprelay.sqlite3)")
        g.add_argument("--dsn", help="a PostgreSQL queue, e.g. postgresql://amprelay@db/amprelay "
                                     "(default: queue.dsn of the config when its backend is postgres)")
        g.add_argument("--config", "-c", help="config file, for its data_dir and queue only; no secret needed "
                                              "(default: amprelay.yaml if it exists)")
        g.add_argument("--data-dir", help="data directory (default: the config's, else $AMPRELAY_DATA_DIR or ./data)")
        if filters:
            f = sp.add_argument_group("filters (all must match)")
            f.add_argument("--destination", "-d", help="destination name")
            f.add_argument("--kind", choices=KINDS, help="Amplitude API of the unit")
            f.add_argument("--reason", help="text the reason contains (case-insensitive)")
            f.add_argument("--message-id", help="the message's messageId")
            f.add_argument("--user", help="user id, else device id, of the unit")
            f.add_argument("--since", help="dead at or after: ISO time, unix seconds, or an age like 30m, 2h, 7d")
            f.add_argument("--until", help="dead before: ISO time, unix seconds, or an age like 30m, 2h, 7d")
            f.add_argument("--id", dest="ids", type=int, action="append", help="a dead letter id (repeatable)")

    def ids(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("id", type=int, nargs="*", help="dead letter id(s), as `dlq list` shows them")

    lp = dsub.add_parser("list", help="list dead letters (oldest first)")
    common(lp)
    lp.add_argument("--limit", type=int, default=50, help="at most this many (default 50; 0: all)")
    lp.add_argument("--offset", type=int, default=0)
    lp.add_argument("--json", action="store_true", help="one JSON object per line, with the entry")
    lp.set_defaults(func=run_list)

    sp = dsub.add_parser("show", help="show dead letters in full")
    common(sp, filters=False)
    sp.add_argument("id", type=int, nargs="+", help="dead letter id(s)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=run_show)

    rp = dsub.add_parser("retry", help="put dead letters back through delivery")
    ids(rp)
    common(rp)
    rp.add_argument("--all", action="store_true", help="every dead letter (needed when no filter is given)")
    rp.add_argument("--dry-run", action="store_true", help="only count what would be retried")
    rp.set_defaults(func=run_retry)

    pp = dsub.add_parser("purge", help="delete dead letters for good")
    ids(pp)
    common(pp)
    pp.add_argument("--all", action="store_true", help="every dead letter (needed when no filter is given)")
    pp.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    pp.set_defaults(func=run_purge)

    p.set_defaults(func=lambda args: p.error("give an action: list, show, retry or purge"))


# -- helpers ---------------------------------------------------------------------------------

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str | None, now: float | None = None) -> float | None:
    """ISO 8601, unix seconds, or an age (``30m``, ``2h``, ``7d``) before now."""
    if text is None:
        return None
    now = time.time() if now is None else now
    m = _AGE.match(text)
    if m:
        return now - float(m.group(1)) * _UNIT[m.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use ISO 8601, unix seconds or an age like 2h)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def store_location(args: argparse.Namespace) -> tuple[str, str]:
    """("sqlite", path) or ("postgres", dsn)."""
    from amprelay.cli.main import CommandError
    from amprelay.store import sqlite_path

    if args.db and getattr(args, "dsn", None):
        raise ValueError("give --db (SQLite) or --dsn (PostgreSQL), not both")
    if args.db:
        if args.data_dir or args.config:
            raise CommandError("--db names the store itself: give it without --data-dir or --config")
        return "sqlite", args.db
    if getattr(args, "dsn", None):
        return "postgres", args.dsn
    config_path = args.config or ("amprelay.yaml" if not args.data_dir and os.path.exists("amprelay.yaml") else None)
    if config_path:
        from amprelay.config import config_secrets, load_config
        from amprelay.masking import register_secrets

        cfg = load_config(config_path, secrets=False).config
        register_secrets(config_secrets(cfg))
        if cfg.queue.backend == "postgres":
            return "postgres", cfg.queue.dsn or ""
        return "sqlite", str(sqlite_path(cfg.queue, args.data_dir or cfg.data_dir))
    data_dir = args.data_dir or os.environ.get("AMPRELAY_DATA_DIR") or "./data"
    return "sqlite", str(sqlite_path(None, data_dir))


def open_store(args: argparse.Namespace, write: bool = False):
    """The store, or None (the reason printed). ``write``: on SQLite also take the data dir's lock,
    held until the queue is closed (refused while `amprelay serve` or a replay writes it)."""
    backend, where = store_location(args)
    if backend == "postgres":
        return open_postgres(where)
    from amprelay.store.lock import DataDirInUse, DataDirLock
    from amprelay.store.sqlite import SQLiteQueue

    if not os.path.isfile(where):
        print(f"amprelay dlq: no store at {where} (use --db, --dsn, --config or --data-dir)", file=sys.stderr)
        return None
    lock = None
    if write:
        try:
            lock = DataDirLock(os.path.dirname(os.path.abspath(where))).acquire()
        except DataDirInUse as exc:
            print(f"amprelay dlq: {exc}", file=sys.stderr)
            return None
    queue = SQLiteQueue(where)
    if lock is not None:
        close = queue.close

        def close_and_unlock() -> None:
            close()
            lock.release()
        queue.close = close_and_unlock  # type: ignore[method-assign]
    return queue


def open_postgres(dsn: str):
    """The PostgreSQL queue at ``dsn``, as it is: never created or migrated from here."""
    try:
        import psycopg

        from amprelay.store.postgres import SCHEMA_VERSION, PostgresQueue
    except ModuleNotFoundError:
        print("amprelay dlq: PostgreSQL needs psycopg: pip install 'amprelay[postgres]'", file=sys.stderr)
        return None
    if not dsn:
        print("amprelay dlq: the config's queue.dsn is empty", file=sys.stderr)
        return None
    queue = PostgresQueue(dsn, auto_migrate=False)
    where = _safe_dsn(dsn)
    try:
        with queue._connection() as c:
            row = c.execute("SELECT to_regclass('amprelay_schema') IS NOT NULL").fetchone()
            version = c.execute("SELECT version FROM amprelay_schema").fetchone() if row and row[0] else None
    except psycopg.Error as exc:
        queue.close()
        print(f"amprelay dlq: cannot reach PostgreSQL at {where}: {str(exc).strip().splitlines()[0]}",
              file=sys.stderr)
        return None
    if version is None or version[0] < SCHEMA_VERSION:
        queue.close()
        print(f"amprelay dlq: no amprelay queue at {where} (or an older schema: run `amprelay migrate`)",
              file=sys.stderr)
        return None
    return queue


def _safe_dsn(dsn: str) -> str:
    """The DSN without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def build_filter(args: argparse.Namespace):
    from amprelay.store import DeadLetterFilter

    return DeadLetterFilter(
        destination=args.destination, kind=args.kind, reason_contains=args.reason, message_id=args.message_id,
        partition=args.user, since=parse_when(args.since), until=parse_when(args.until),
        ids=tuple(_ids(args)) or None,
    )


def _ids(args: argparse.Namespace) -> list[int]:
    """``--id`` and, for retry and purge, the positional ids."""
    return [*(args.ids or ()), *(getattr(args, "id", None) or ())]


def _has_filter(args: argparse.Namespace) -> bool:
    return bool(_ids(args)) or any(getattr(args, k) is not None for k in
                                   ("destination", "kind", "reason", "message_id", "user", "since", "until"))


def as_json(d: Any) -> dict[str, Any]:
    """A dead letter for printing, masked (keys in the entry, keys Amplitude echoed in the reason)."""
    from amprelay.masking import mask_answer, mask_value

    try:
        entry = mask_value(orjson.loads(d.entry))
    except orjson.JSONDecodeError:
        entry = mask_value(d.entry.decode("utf-8", "replace"))
    return {
        "id": d.id, "destination": d.destination, "kind": d.route.kind, "method": d.route.method,
        "url": d.route.url, "message_id": d.message_id, "user": d.partition, "attempts": d.attempts,
        "created_at": _iso(d.created_at), "dead_at": _iso(d.dead_at), "reason": mask_answer(d.reason), "entry": entry,
    }


# -- commands --------------------------------------------------------------------------------

def _guard(fn):
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except ValueError as exc:
            print(f"amprelay dlq: {exc}", file=sys.stderr)
            return 2
        except (sqlite3.Error, OSError) as exc:  # not a store, unreadable, locked
            print(f"amprelay dlq: cannot open the store: {exc}", file=sys.stderr)
            return 1
        except Exception as exc:
            if type(exc).__module__.startswith("psycopg"):  # the database went away mid-command
                print(f"amprelay dlq: PostgreSQL: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
                return 1
            raise
    return wrapped


@_guard
def run_list(args: argparse.Namespace) -> int:
    q = open_store(args)
    if q is None:
        return 1
    try:
        flt = build_filter(args)
        total = q.count_dead(flt)
        rows = q.list_dead(flt, limit=args.limit if args.limit > 0 else -1, offset=args.offset)
        if args.json:
            for d in rows:
                sys.stdout.write(orjson.dumps(as_json(d)).decode() + "\n")
            return 0
        if not rows:
            print("no dead letters" + (" match" if _has_filter(args) else ""))
            return 0
        print_table(rows)
        shown = len(rows)
        if total > shown + args.offset or args.offset:
            print(f"({shown} shown of {total}; use --limit/--offset)")
        else:
            print(f"({total} dead letter{'s' if total != 1 else ''})")
        return 0
    finally:
        q.close()


def print_table(rows: list[Any]) -> None:
    """One line per dead letter; ids, destinations, message ids and users in full (they are
    what the filters take), the reason last and cut to what fits."""
    head = ("ID", "DEAD AT", "DESTINATION", "KIND", "MESSAGE ID", "USER", "TRIES")
    table = [(str(d.id), _iso(d.dead_at), d.destination, d.route.kind, d.message_id, d.partition, str(d.attempts))
             for d in rows]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(head)]
    right = {0, 6}

    def line(cells: tuple[str, ...], reason: str) -> str:
        out = "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return f"{out}  {reason}"

    print(line(head, "REASON"))
    for cells, d in zip(table, rows, strict=True):
        print(line(cells, as_json(d)["reason"].replace("\n", " ")[:100]))


@_guard
def run_show(args: argparse.Namespace) -> int:
    from amprelay.store import DeadLetterFilter

    q = open_store(args)
    if q is None:
        return 1
    try:
        rows = q.list_dead(DeadLetterFilter(ids=tuple(args.id)), limit=len(args.id))
        found = {d.id for d in rows}
        for d in rows:
            j = as_json(d)
            if args.json:
                sys.stdout.write(orjson.dumps(j).decode() + "\n")
                continue
            print(f"dead letter {d.id}")
            for k in ("destination", "kind", "method", "url", "message_id", "user", "attempts", "created_at",
                      "dead_at", "reason"):
                print(f"  {k + ':':12} {j[k]}")
            print("  entry:")
            text = orjson.dumps(j["entry"], option=orjson.OPT_INDENT_2).decode()
            print("\n".join("    " + line for line in text.splitlines()))
        missing = [i for i in args.id if i not in found]
        if missing:
            print(f"amprelay dlq: no dead letter with id {', '.join(map(str, missing))}", file=sys.stderr)
            return 1
        return 0
    finally:
        q.close()


@_guard
def run_retry(args: argparse.Namespace) -> int:
    if not _has_filter(args) and not args.all:
        print("amprelay dlq retry: give a filter or --all", file=sys.stderr)
        return 2
    q = open_store(args, write=not args.dry_run)
    if q is None:
        return 1
    try:
        flt = build_filter(args)
        matching = q.count_dead(flt)
        from dataclasses import replace

        rejected = q.count_dead(replace(flt, kind="rejected")) if flt.kind in (None, "rejected") else 0
        if args.dry_run:
            print(f"would put {matching - rejected} dead letter(s) back in the queue"
                  + (f"; {rejected} rejected message(s) never became a request and stay" if rejected else ""))
            return 0
        n = q.requeue_dead(flt)
        print(f"put {n} dead letter(s) back in the queue; a running `amprelay serve` delivers them"
              + (f"; {rejected} rejected message(s) never became a request and stay" if rejected else ""))
        return 0
    finally:
        q.close()


@_guard
def run_purge(args: argparse.Namespace) -> int:
    if not _has_filter(args) and not args.all:
        print("amprelay dlq purge: give a filter or --all", file=sys.stderr)
        return 2
    q = open_store(args, write=not args.dry_run)
    if q is None:
        return 1
    try:
        flt = build_filter(args)
        if args.dry_run:
            print(f"would delete {q.count_dead(flt)} dead letter(s)")
            return 0
        print(f"deleted {q.purge_dead(flt)} dead letter(s)")
        return 0
    finally:
        q.close()
