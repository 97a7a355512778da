"""amprelay's durable state, and the only code that opens a database.

- :mod:`amprelay.store.base`: the queue's interface (the ``Queue`` protocol) and its types;
- :mod:`amprelay.store.sqlitedb`: the embedded store's SQLite file (pragmas, every table and its
  migrations, the write connection, the group commit); :mod:`amprelay.store.sqlite` (the queue),
  :mod:`amprelay.store.inbox` and :mod:`amprelay.store.sessions` are views of it;
- :mod:`amprelay.store.pg_schema`: PostgreSQL's schema and migrations, beside its queue
  (:mod:`amprelay.store.postgres`) and session store (:mod:`amprelay.store.sessions`);
- :mod:`amprelay.store.groupcommit`: the one group commit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from amprelay.store.base import (
    DeadLetter,
    DeadLetterFilter,
    InboxReceipt,
    Lease,
    NewUnit,
    Queue,
    QueueStats,
    RetryItem,
    Route,
)

DEFAULT_SQLITE_NAME = "amprelay.sqlite3"


def sqlite_path(queue_config: Any = None, data_dir: str | os.PathLike[str] = "./data") -> Path:
    """The SQLite file: ``queue.path`` when set, else ``<data_dir>/amprelay.sqlite3``."""
    path = getattr(queue_config, "path", None)
    return Path(path) if path else Path(data_dir) / DEFAULT_SQLITE_NAME


def open_queue(queue_config: Any = None, data_dir: str | os.PathLike[str] = "./data", shared: bool = False) -> Queue:
    """Open the configured backend (``amprelay.config.QueueConfig``; None: SQLite defaults).
    ``shared``: the SQLite file is written by the several processes of one relay."""
    backend = getattr(queue_config, "backend", "sqlite")
    if backend == "sqlite":
        from amprelay.store.sqlite import SQLiteQueue

        return SQLiteQueue(sqlite_path(queue_config, data_dir), shared=shared)
    if backend == "postgres":
        from amprelay.store.postgres import PostgresQueue

        return PostgresQueue(queue_config.dsn,
                             bucket_lease_seconds=getattr(queue_config, "bucket_lease_seconds", 10.0))
    raise ValueError(f"unknown queue backend {backend!r}")


def api_keys_of(destinations: Any) -> Any:
    """``Queue.set_api_keys``'s argument for config destinations: each one's ``apiKey`` now."""
    keys = {d.name: str(d.settings.get("apiKey") or "") for d in destinations}
    return keys.get


def open_session_store(queue_config: Any, queue: Queue):
    """Server-side session state beside the queue: in its SQLite file, or in PostgreSQL (shared
    by every relay on it)."""
    from amprelay.store.sessions import PostgresSessionStore, SessionStore
    from amprelay.store.sqlite import SQLiteQueue

    if isinstance(queue, SQLiteQueue):
        return SessionStore(queue.db)
    return PostgresSessionStore(getattr(queue_config, "dsn", None) or "")


__all__ = [
    "DeadLetter",
    "DeadLetterFilter",
    "InboxReceipt",
    "Lease",
    "NewUnit",
    "Queue",
    "QueueStats",
    "RetryItem",
    "Route",
    "api_keys_of",
    "open_queue",
    "open_session_store",
    "sqlite_path",
]
