"""The PostgreSQL queue's operator reads and writes: dead letters (list, count, requeue, purge,
by a :class:`~amprelay.store.base.DeadLetterFilter`) and the queue's statistics. Each function runs
on a connection the queue lends (:class:`amprelay.store.postgres.PostgresQueue` holds it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from amprelay.store.base import DeadLetter, DeadLetterFilter, QueueStats, UnitRoute
from amprelay.store.pg_schema import bucket_of, one_row

__all__ = ["count_dead", "list_dead", "purge_dead", "requeue_dead", "size_bytes", "stats"]


def _where(flt: DeadLetterFilter) -> tuple[str, list[Any]]:
    terms, args = flt.sql_terms("%s", "strpos")
    if flt.ids is not None:
        terms.append("d.id = ANY(%s)")
        args.append(list(flt.ids))
    return (" WHERE " + " AND ".join(terms)) if terms else "", args


def list_dead(c: psycopg.Connection, route: Callable[[psycopg.Connection, int], UnitRoute],
              flt: DeadLetterFilter, limit: int, offset: int) -> list[DeadLetter]:
    where, args = _where(flt)
    rows = c.execute(
        "SELECT d.id, d.route_id, d.entry, d.partition, d.message_id, d.created_at, d.dead_at, d.attempts, "
        f"d.reason FROM amprelay_dead_letters d JOIN amprelay_routes r ON r.id = d.route_id{where} "
        "ORDER BY d.id LIMIT %s OFFSET %s", [*args, limit if limit >= 0 else None, offset]).fetchall()
    return [DeadLetter(i, route(c, rid), bytes(e), p, m, ca, da, a, reason)
            for i, rid, e, p, m, ca, da, a, reason in rows]


def count_dead(c: psycopg.Connection, flt: DeadLetterFilter) -> int:
    where, args = _where(flt)
    count: int = one_row(c.execute(f"SELECT COUNT(*) FROM amprelay_dead_letters d JOIN amprelay_routes r "
                                   f"ON r.id = d.route_id{where}", args))[0]
    return count


def requeue_dead(c: psycopg.Connection, flt: DeadLetterFilter, now: float) -> int:
    """Move the matching dead letters (not rejected messages) back into the queue, in the order
    their units were enqueued; inside the caller's transaction."""
    where, args = _where(flt)
    where = (where + " AND " if where else " WHERE ") + "r.kind <> 'rejected'"
    rows = c.execute(
        f"SELECT d.id, d.route_id, d.partition, d.message_id, d.entry FROM amprelay_dead_letters d "
        f"JOIN amprelay_routes r ON r.id = d.route_id{where} ORDER BY d.unit_id, d.id FOR UPDATE OF d",
        args).fetchall()
    if not rows:
        return 0
    c.execute(
        "INSERT INTO amprelay_units (route_id, bucket, partition, message_id, entry, created_at) "
        "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[], %s::bytea[], %s::float8[])",
        ([r[1] for r in rows], [bucket_of(r[2]) for r in rows], [r[2] for r in rows], [r[3] for r in rows],
         [bytes(r[4]) for r in rows], [now] * len(rows)))
    c.execute("DELETE FROM amprelay_dead_letters WHERE id = ANY(%s)", ([r[0] for r in rows],))
    return len(rows)


def purge_dead(c: psycopg.Connection, flt: DeadLetterFilter) -> int:
    where, args = _where(flt)
    return c.execute(f"DELETE FROM amprelay_dead_letters WHERE id IN (SELECT d.id FROM "
                     f"amprelay_dead_letters d JOIN amprelay_routes r ON r.id = d.route_id{where})",
                     args).rowcount


def size_bytes(c: psycopg.Connection) -> int:
    size: int = one_row(c.execute("SELECT pg_total_relation_size('amprelay_units') + "
                                  "pg_total_relation_size('amprelay_dead_letters')"))[0]
    return size


def stats(c: psycopg.Connection, now: float, leased: int) -> QueueStats:
    """The queue's statistics; ``leased``: the units in flight (kept by the relays that leased
    them, not in the table: the caller's own)."""
    s = QueueStats(leased=leased)
    for dest, n in c.execute("SELECT r.destination, COUNT(*) FROM amprelay_units u JOIN amprelay_routes r "
                             "ON r.id = u.route_id GROUP BY r.destination"):
        s.depth_by_destination[dest] = n
        s.depth += n
    s.waiting, s.oldest_created_at = one_row(c.execute(
        "SELECT COUNT(*) FILTER (WHERE not_before > %s), MIN(created_at) FROM amprelay_units", (now,)))
    for dest, n in c.execute("SELECT r.destination, COUNT(*) FROM amprelay_dead_letters d JOIN "
                             "amprelay_routes r ON r.id = d.route_id GROUP BY r.destination"):
        s.dead_by_destination[dest] = n
        s.dead_letters += n
    return s
