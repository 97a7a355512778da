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
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from amprelay.store.base import (
    DeadLetter,
    DeadLetterFilter,
    InboxReceipt,
    Lease,
    NewUnit,
    Queue,
    QueueStats,
    RetryItem,
    UnitRoute,
)

if TYPE_CHECKING:
    from amprelay.store.sessions import PostgresSessionStore, SessionStore

DEFAULT_SQLITE_NAME = "amprelay.sqlite3"


class StoreLocation(Protocol):
    """Where the store is: what the store reads of the config's ``queue:`` section
    (``amprelay.config.QueueConfig`` has these attributes; the store sits below the config)."""

    @property
    def backend(self) -> str: ...
    @property
    def path(self) -> str | None: ...
    @property
    def dsn(self) -> str | None: ...
    @property
    def bucket_lease_seconds(self) -> float: ...
    @property
    def vacuum_units(self) -> int: ...


class KeyedDestination(Protocol):
    """A configured destination as :func:`api_keys_of` reads it (``amprelay.config.DestinationConfig``)."""

    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> Mapping[str, Any]: ...


def sqlite_path(queue_config: StoreLocation | None = None, data_dir: str | os.PathLike[str] = "./data") -> Path:
    """The SQLite file: ``queue.path`` when set, else ``<data_dir>/amprelay.sqlite3``."""
    path = queue_config.path if queue_config is not None else None
    return Path(path) if path else Path(data_dir) / DEFAULT_SQLITE_NAME


def open_queue(queue_config: StoreLocation | None = None, data_dir: str | os.PathLike[str] = "./data",
               shared: bool = False) -> Queue:
    """Open the configured backend (None: SQLite in ``data_dir``). ``shared``: the SQLite file is
    written by the several processes of one relay."""
    backend = queue_config.backend if queue_config is not None else "sqlite"
    if backend == "sqlite":
        from amprelay.store.sqlite import SQLiteQueue

        return SQLiteQueue(sqlite_path(queue_config, data_dir), shared=shared)
    if backend == "postgres" and queue_config is not None:
        from amprelay.store.postgres import PostgresQueue

        if queue_config.dsn is None:
            raise ValueError("queue.backend postgres needs queue.dsn")
        return PostgresQueue(queue_config.dsn, bucket_lease_seconds=queue_config.bucket_lease_seconds,
                             vacuum_units=queue_config.vacuum_units)
    raise ValueError(f"unknown queue backend {backend!r}")


def api_keys_of(destinations: Iterable[KeyedDestination]) -> Callable[[str], str | None]:
    """``Queue.set_api_keys``'s argument for config destinations: each one's ``apiKey`` now."""
    keys = {d.name: str(d.settings.get("apiKey") or "") for d in destinations}
    return keys.get


def open_session_store(queue_config: StoreLocation, queue: Queue) -> SessionStore | PostgresSessionStore:
    """Server-side session state beside the queue: in its SQLite file, or in PostgreSQL (shared
    by every relay on it)."""
    from amprelay.store.sessions import PostgresSessionStore, SessionStore
    from amprelay.store.sqlite import SQLiteQueue

    if isinstance(queue, SQLiteQueue):
        return SessionStore(queue.db)
    return PostgresSessionStore(queue_config.dsn or "")


__all__ = [
    "DeadLetter",
    "DeadLetterFilter",
    "InboxReceipt",
    "Lease",
    "NewUnit",
    "Queue",
    "QueueStats",
    "KeyedDestination",
    "RetryItem",
    "StoreLocation",
    "UnitRoute",
    "api_keys_of",
    "open_queue",
    "open_session_store",
    "sqlite_path",
]
