"""The shared PostgreSQL server (AMPRELAY_TEST_PG_DSN, default
postgresql://postgres@127.0.0.1:5432/test) and throw-away schemas on it, one per test."""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

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
