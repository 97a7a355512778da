"""Nothing secret at rest: the queue keeps a reference to a destination's API key, not the key;
stores written before that are migrated (the key's bytes gone from the file); the key of the
current config goes out."""

from __future__ import annotations

import sqlite3

import orjson

from amprelay.store import NewUnit, UnitRoute
from amprelay.store.base import API_KEY_REF, route_at_rest
from amprelay.store.sqlite import SQLiteQueue

OLD_KEY = "0123456789abcdef0123456789abcdef"
NEW_KEY = "fedcba9876543210fedcba9876543210"


def route(key: str) -> UnitRoute:
    return UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                     (("api_key", key), ("events", None)))


def file_bytes(path) -> bytes:
    out = b""
    for suffix in ("", "-wal"):
        try:
            with open(f"{path}{suffix}", "rb") as f:
                out += f.read()
        except FileNotFoundError:
            pass
    return out


def test_the_key_is_not_stored_and_the_current_one_is_sent(tmp_path):
    path = tmp_path / "q.sqlite3"
    q = SQLiteQueue(path)
    q.enqueue([NewUnit(route(OLD_KEY), b'{"user_id":"u1"}', "u1", "m1", 1.0)])
    q.close()
    assert OLD_KEY.encode() not in file_bytes(path)
    q = SQLiteQueue(path)  # a restart with the key rotated in the config
    q.set_api_keys({"amp": NEW_KEY}.get)
    [lease] = q.lease("w", 10, 60)
    assert dict(lease.route.template)["api_key"] == NEW_KEY
    q.close()


def test_a_store_with_keys_in_its_routes_is_migrated(tmp_path):
    path = tmp_path / "q.sqlite3"
    SQLiteQueue(path).close()
    c = sqlite3.connect(path)  # what amprelay wrote before (schema 1): the key in the route
    old, other = route(OLD_KEY), route("another-key-0000000000000000000000")
    for rid, r in ((7, old), (8, other)):
        c.execute("INSERT INTO routes (id, key, destination, kind) VALUES (?, ?, 'amp', 'events')", (rid, r.key()))
        c.execute("INSERT INTO units (route_id, partition, message_id, entry, created_at) VALUES (?, 'u', ?, ?, 1)",
                  (rid, f"m{rid}", orjson.dumps({"user_id": "u"})))
    c.execute("INSERT INTO routes (id, key, destination, kind) VALUES (9, ?, 'amp', 'events')",
              (route_at_rest(old).key(),))  # its new form exists already: the two are merged
    c.execute("INSERT INTO dead_letters (unit_id, route_id, partition, message_id, entry, created_at, dead_at, "
              "attempts, reason) VALUES (1, 7, 'u', 'd1', x'7b7d', 1, 2, 1, 'bad')")
    c.execute("PRAGMA user_version=1")
    c.commit()
    c.close()
    assert OLD_KEY.encode() in file_bytes(path)

    q = SQLiteQueue(path)
    assert q._conn.execute("PRAGMA user_version").fetchone()[0] >= 2
    keys = [k for (k,) in q._conn.execute("SELECT key FROM routes")]
    assert all(OLD_KEY not in k and "another-key" not in k for k in keys)
    assert all(API_KEY_REF in k for k in keys)
    q.set_api_keys({"amp": NEW_KEY}.get)
    leases = q.lease("w", 10, 60)
    assert [u.message_id for u in leases] == ["m7"]  # m8 waits behind m7 (same user)
    assert dict(leases[0].route.template)["api_key"] == NEW_KEY
    assert [dict(d.route.template)["api_key"] for d in q.list_dead()] == [NEW_KEY]
    q.close()
    assert OLD_KEY.encode() not in file_bytes(path)


def test_postgres_routes_with_keys_are_migrated():
    from tests.helpers.postgres import PgSchemas, pg_available
    from tests.requirements import require

    require(pg_available(), "PostgreSQL is not reachable")
    import psycopg

    from amprelay.store.pg_schema import MIGRATIONS, migrate
    from amprelay.store.postgres import PostgresQueue

    schemas = PgSchemas()
    try:
        dsn = schemas.dsn()
        with psycopg.connect(dsn, autocommit=True) as c:  # a schema-4 database with a key in a route
            c.execute("CREATE TABLE amprelay_schema (version INT NOT NULL)")
            c.execute("INSERT INTO amprelay_schema VALUES (4)")
            for step in MIGRATIONS[:4]:
                c.execute(step)
            rid = c.execute("INSERT INTO amprelay_routes (key, destination, kind) VALUES (%s, 'amp', 'events') "
                            "RETURNING id", (route(OLD_KEY).key(),)).fetchone()[0]
            c.execute("INSERT INTO amprelay_units (route_id, bucket, partition, message_id, entry, created_at) "
                      "VALUES (%s, 0, 'u', 'm1', %s, 1)", (rid, b'{"user_id":"u"}'))
            assert migrate(c)[0] == 4
            assert c.execute("SELECT COUNT(*) FROM amprelay_routes WHERE strpos(key, %s) > 0",
                             (OLD_KEY,)).fetchone()[0] == 0
        q = PostgresQueue(dsn)
        q.set_api_keys({"amp": NEW_KEY}.get)
        [lease] = q.lease("w", 10, 60)
        assert dict(lease.route.template)["api_key"] == NEW_KEY
        q.close()
    finally:
        schemas.drop()
