"""PostgreSQL's schema and its migrations: every table amprelay keeps in PostgreSQL (the queue,
dead letters, bucket ownership, workers, server-side sessions), in one place. ``amprelay migrate``
runs :func:`migrate`; the queue runs it on open. The version is kept in ``amprelay_schema``."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import psycopg

from amprelay.store.base import routes_without_keys

BUCKETS = 64


def bucket_of(partition: str) -> int:
    """The bucket of a partition (user, else device): a stable hash, the same on every relay."""
    return zlib.crc32(partition.encode("utf-8")) % BUCKETS


def one_row(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The one row a query always returns (COUNT, nextval, a row just written)."""
    row = cursor.fetchone()
    if row is None:
        raise psycopg.DataError("the query returned no row")
    return row


def _routes_without_keys(conn: psycopg.Connection) -> None:
    updates, merges = routes_without_keys(conn.execute("SELECT id, key FROM amprelay_routes").fetchall())
    for old, survivor in merges:
        conn.execute("UPDATE amprelay_units SET route_id = %s WHERE route_id = %s", (survivor, old))
        conn.execute("UPDATE amprelay_dead_letters SET route_id = %s WHERE route_id = %s", (survivor, old))
        conn.execute("DELETE FROM amprelay_routes WHERE id = %s", (old,))
    for key, rid in updates:
        conn.execute("UPDATE amprelay_routes SET key = %s WHERE id = %s", (key, rid))

MIGRATIONS: list[str | Callable[[psycopg.Connection], None]] = [
    # 1: the queue
    """
    CREATE TABLE amprelay_routes (
        id BIGSERIAL PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        destination TEXT NOT NULL,
        kind TEXT NOT NULL
    );
    CREATE TABLE amprelay_units (
        id BIGSERIAL PRIMARY KEY,
        route_id BIGINT NOT NULL REFERENCES amprelay_routes(id),
        bucket INT NOT NULL,
        partition TEXT NOT NULL,
        message_id TEXT NOT NULL,
        entry BYTEA NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        not_before DOUBLE PRECISION NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until DOUBLE PRECISION,
        attempts INT NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX amprelay_units_bucket ON amprelay_units (bucket, id);
    CREATE INDEX amprelay_units_leased ON amprelay_units (lease_owner) WHERE lease_owner IS NOT NULL;
    CREATE TABLE amprelay_buckets (
        bucket INT PRIMARY KEY,
        owner TEXT,
        lease_until DOUBLE PRECISION NOT NULL DEFAULT 0
    );
    INSERT INTO amprelay_buckets (bucket) SELECT g FROM generate_series(0, 63) AS g;
    CREATE TABLE amprelay_dead_letters (
        id BIGSERIAL PRIMARY KEY,
        unit_id BIGINT NOT NULL,
        route_id BIGINT NOT NULL REFERENCES amprelay_routes(id),
        partition TEXT NOT NULL,
        message_id TEXT NOT NULL,
        entry BYTEA NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        dead_at DOUBLE PRECISION NOT NULL,
        attempts INT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX amprelay_dead_letters_dead_at ON amprelay_dead_letters (dead_at);
    """,
    # 2: server-side session state
    """
    CREATE TABLE amprelay_server_sessions (
        key TEXT PRIMARY KEY,
        state BYTEA NOT NULL
    );
    """,
    # 3: live workers (heartbeats), so buckets are shared by every worker that wants some
    """
    CREATE TABLE amprelay_workers (
        worker_id TEXT PRIMARY KEY,
        seen_at DOUBLE PRECISION NOT NULL
    );
    """,
    # 4: lease tokens fence settlements (a stale lease's settlement changes nothing)
    """
    ALTER TABLE amprelay_units ADD COLUMN lease_token BIGINT;
    CREATE SEQUENCE amprelay_lease_tokens;
    """,
    # 5: no API key at rest: routes keep a reference to their destination's key
    lambda conn: _routes_without_keys(conn),
    # 6: messageIds accepted recently (ingest.dedupe_window), shared by every relay
    """
    CREATE TABLE amprelay_dedupe (
        source TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (source, message_id)
    );
    CREATE INDEX amprelay_dedupe_seen_at ON amprelay_dedupe (seen_at);
    """,
    # 7: less work per unit. No foreign key from units to routes (its check ran a query per
    # inserted row; the store writes only route ids it read from amprelay_routes). No index on
    # lease_owner (each lease's owner is known to the relay that leased it; see
    # PostgresQueue.lease), so with room left on every page (fillfactor) a lease updates its rows
    # in place (HOT) instead of adding an entry to every index. Units waiting for a retry are
    # found through a small partial index. The dedupe table's seen_at is kept in insert order, so
    # a BRIN index serves its pruning at a fraction of a B-tree's upkeep.
    """
    ALTER TABLE amprelay_units DROP CONSTRAINT IF EXISTS amprelay_units_route_id_fkey;
    DROP INDEX IF EXISTS amprelay_units_leased;
    ALTER TABLE amprelay_units SET (fillfactor = 50);
    CREATE INDEX amprelay_units_waiting ON amprelay_units (bucket) WHERE not_before > 0;
    DROP INDEX IF EXISTS amprelay_dedupe_seen_at;
    CREATE INDEX amprelay_dedupe_seen_at ON amprelay_dedupe USING brin (seen_at);
    """,
    # 8: a narrower dedupe key. A message's row is found by an 8-byte hash of it (a bigint, see
    # amprelay.store.postgres.dedupe_key) instead of two text columns compared by collation; the
    # message itself is kept beside it, unindexed, to tell a duplicate from a collision.
    """
    ALTER TABLE amprelay_dedupe RENAME TO amprelay_dedupe_v7;
    ALTER INDEX amprelay_dedupe_pkey RENAME TO amprelay_dedupe_v7_pkey;
    DROP INDEX amprelay_dedupe_seen_at;
    CREATE TABLE amprelay_dedupe (
        key BIGINT PRIMARY KEY,
        message BYTEA NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL
    );
    INSERT INTO amprelay_dedupe (key, message, seen_at)
    SELECT DISTINCT ON (key) key, message, seen_at FROM (
        SELECT ('x' || left(md5(message), 16))::bit(64)::bigint AS key, message, seen_at FROM (
            SELECT int4send(octet_length(convert_to(source, 'UTF8'))) || convert_to(source, 'UTF8')
                   || convert_to(message_id, 'UTF8') AS message, seen_at FROM amprelay_dedupe_v7) AS m
    ) AS k ORDER BY key, seen_at DESC;
    DROP TABLE amprelay_dedupe_v7;
    CREATE INDEX amprelay_dedupe_seen_at ON amprelay_dedupe USING brin (seen_at);
    """,
    # 9: a lease writes nothing to its units. The worker that leased them keeps them in memory;
    # settlements are fenced by the bucket's epoch, bumped whenever the bucket changes hands (a
    # relay still running an older version fails on the dropped columns instead of sending units
    # another relay owns; what it had in flight moves with its buckets when their leases lapse).
    # One index per unit: a lease reads its buckets' units in id order along the primary key
    # (appended to at its right end) instead of a (bucket, id) index inserted into at 64 places.
    # Full pages again: the room migration 7 left was for the lease's in-place updates.
    """
    DROP INDEX amprelay_units_bucket;
    ALTER TABLE amprelay_units RESET (fillfactor);
    ALTER TABLE amprelay_buckets ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE amprelay_units DROP COLUMN lease_owner, DROP COLUMN lease_until, DROP COLUMN lease_token;
    DROP SEQUENCE amprelay_lease_tokens;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: psycopg.Connection) -> tuple[int, int]:
    """Bring the schema to :data:`SCHEMA_VERSION`; returns (from, to). Safe to run concurrently."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7251004)")  # one migrator at a time
        conn.execute("CREATE TABLE IF NOT EXISTS amprelay_schema (version INT NOT NULL)")
        row = conn.execute("SELECT version FROM amprelay_schema").fetchone()
        current = row[0] if row else 0
        if row is None:
            conn.execute("INSERT INTO amprelay_schema (version) VALUES (0)")
        for version in range(current, SCHEMA_VERSION):
            step = MIGRATIONS[version]
            if callable(step):
                step(conn)
            else:
                conn.execute(step)
        if current < SCHEMA_VERSION:
            conn.execute("UPDATE amprelay_schema SET version = %s", (SCHEMA_VERSION,))
    return current, max(current, SCHEMA_VERSION)
