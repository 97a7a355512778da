"""Queue backends for the shared queue tests: every test taking ``q`` (or ``make_queue``) runs
against SQLite and against the real PostgreSQL (AMPRELAY_TEST_PG_DSN, default
postgresql://postgres@127.0.0.1:5432/test), each PostgreSQL test in a schema of its own."""

from __future__ import annotations

import pytest

from amprelay.store.sqlite import SQLiteQueue
from tests.helpers.postgres import PG_DSN, PgSchemas, pg_available
from tests.requirements import require


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
