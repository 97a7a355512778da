"""What the fake accepted: an in-memory list of records plus an optional JSONL file."""

from __future__ import annotations

from typing import IO, Any

import orjson

_DUMP_OPTS = orjson.OPT_APPEND_NEWLINE


class RecordStore:
    """Accepted events/identifications, in arrival order.

    Each record is ``{"path", "region", "api_key", "kind", "data", "options", "received_at"}``.
    Positions are absolute (``total`` counts every record since start or reset), so
    ``since(n)`` keeps working after old records are forgotten past ``max_records``.
    """

    def __init__(self, record_path: str | None = None, max_records: int | None = None) -> None:
        self.items: list[dict[str, Any]] = []
        self.base = 0
        self.max_records = max_records
        self.record_path = record_path
        self._file: IO[bytes] | None = open(record_path, "ab") if record_path else None  # noqa: SIM115

    @property
    def total(self) -> int:
        return self.base + len(self.items)

    def add(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self.items.extend(records)
        if self._file is not None:
            self._file.write(b"".join([orjson.dumps(r, option=_DUMP_OPTS) for r in records]))
            self._file.flush()
        limit = self.max_records
        if limit is not None and len(self.items) > limit + limit // 2:
            drop = len(self.items) - limit
            del self.items[:drop]
            self.base += drop

    def since(self, position: int = 0) -> list[dict[str, Any]]:
        start = position - self.base
        if start <= 0:
            return list(self.items)
        return self.items[start:]

    def reset(self) -> None:
        """Forget the in-memory records (the JSONL file keeps its history)."""
        self.items = []
        self.base = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
