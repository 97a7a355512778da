"""Durable queue: the interface (:mod:`amprelay.queue.base`) and its backends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from amprelay.queue.base import (
    DeadLetter,
    DeadLetterFilter,
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


def open_queue(queue_config: Any = None, data_dir: str | os.PathLike[str] = "./data") -> Queue:
    """Open the configured backend (``amprelay.config.QueueConfig``; None: SQLite defaults)."""
    backend = getattr(queue_config, "backend", "sqlite")
    if backend == "sqlite":
        from amprelay.queue.sqlite import SQLiteQueue

        return SQLiteQueue(sqlite_path(queue_config, data_dir))
    if backend == "postgres":
        from amprelay.queue.postgres import PostgresQueue

        return PostgresQueue(queue_config.dsn,
                             bucket_lease_seconds=getattr(queue_config, "bucket_lease_seconds", 10.0))
    raise ValueError(f"unknown queue backend {backend!r}")


__all__ = [
    "DeadLetter",
    "DeadLetterFilter",
    "Lease",
    "NewUnit",
    "Queue",
    "QueueStats",
    "RetryItem",
    "Route",
    "open_queue",
    "sqlite_path",
]
