"""Queue backends for the shared queue tests: every test taking ``q`` (or ``make_queue``) runs
against SQLite and against the real PostgreSQL (AMPRELAY_TEST_PG_DSN, default
postgresql://postgres@127.0.0.1:5432/test), each PostgreSQL test in a schema of its own."""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
from tests.requirements import require

from amprelay.store.sqlite import SQLiteQueue

PG_DSN = os.environ.get("AMPRELAY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_DSN, connect_timeout=3):
            return True
    except Exception:
        return False


class PgSchemas:
    """Creates throwaway schemas and DSNs pointing at them; drops them at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def dsn(self) -> str:
        import psycopg

        name = f"amprelay_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{name}"')
        self.created.append(name)
        sep = "&" if "?" in PG_DSN else "?"
        return f"{PG_DSN}{sep}options={quote(f'-csearch_path={name}')}&application_name={name}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True) as c:
            for name in self.created:
                c.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def make_queue(request, tmp_path_factory):
    """A factory of fresh, empty queues of one backend."""
    made = []
    schemas = None
    if request.param == "postgres":
        require(pg_available(), f"PostgreSQL is not reachable at {PG_DSN}")
        from amprelay.store.postgres import PostgresQueue

        schemas = PgSchemas()

        def make():
            queue = PostgresQueue(schemas.dsn())
            made.append(queue)
            return queue
    else:
        def make():
            queue = SQLiteQueue(tmp_path_factory.mktemp("q") / "q.sqlite3")
            made.append(queue)
            return queue

    yield make
    for queue in made:
        queue.close()
    if schemas is not None:
        schemas.drop()


@pytest.fixture
def q(make_queue):
    return make_queue()
