"""What the fake accepted: in-memory records plus an optional JSONL file.

A record is ``{"path", "region", "api_key", "kind", "data", "options", "received_at"}``. Records
that arrive in one request share everything but ``data``, so they are stored as one chunk
(shared fields + the list of ``data`` items) and only turned into dicts when read; the JSONL line
of each record is the shared prefix/suffix around ``orjson.dumps(data)``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from typing import IO, Any

import orjson

from amprelay.js.json import dumps as json_dumps


class _Chunk:
    __slots__ = ("start", "path", "region", "api_key", "kind", "options", "received_at", "items")

    def __init__(
        self, start: int, path: str, region: str, api_key: str, kind: str, options: Any, received_at: int,
        items: list[Any],
    ) -> None:
        self.start = start
        self.path = path
        self.region = region
        self.api_key = api_key
        self.kind = kind
        self.options = options
        self.received_at = received_at
        self.items = items

    def record(self, data: Any) -> dict[str, Any]:
        return {
            "path": self.path,
            "region": self.region,
            "api_key": self.api_key,
            "kind": self.kind,
            "data": data,
            "options": self.options,
            "received_at": self.received_at,
        }

    def jsonl(self) -> bytes:
        prefix = orjson.dumps(
            {"path": self.path, "region": self.region, "api_key": self.api_key, "kind": self.kind}
        )[:-1] + b',"data":'
        suffix = (
            b',"options":' + orjson.dumps(self.options) + b',"received_at":' + str(self.received_at).encode() + b"}\n"
        )
        dumps = json_dumps
        return b"".join([prefix + dumps(item) + suffix for item in self.items])


class RecordStore:
    """Accepted records in arrival order. Positions are absolute (``total`` counts every record
    since start or reset), so ``since(n)`` keeps working after old records are forgotten past
    ``max_records`` (whole request chunks are forgotten, oldest first)."""

    def __init__(self, record_path: str | None = None, max_records: int | None = None) -> None:
        self.record_path = record_path
        self.max_records = max_records
        self._file: IO[bytes] | None = open(record_path, "ab") if record_path else None  # noqa: SIM115
        self.reset()

    def reset(self) -> None:
        """Forget the in-memory records (the JSONL file keeps its history)."""
        self._chunks: list[_Chunk] = []
        self._starts: list[int] = []
        self.total = 0
        self.in_memory = 0

    def add(
        self, path: str, region: str, api_key: str, kind: str, options: Any, received_at: int, items: list[Any]
    ) -> None:
        if not items:
            return
        chunk = _Chunk(self.total, path, region, api_key, kind, options, received_at, items)
        self._chunks.append(chunk)
        self._starts.append(chunk.start)
        self.total += len(items)
        self.in_memory += len(items)
        if self._file is not None:
            self._file.write(chunk.jsonl())
            self._file.flush()
        limit = self.max_records
        if limit is not None and self.in_memory > limit:
            drop = 0
            chunks = self._chunks
            while drop < len(chunks) and self.in_memory - len(chunks[drop].items) >= limit:
                self.in_memory -= len(chunks[drop].items)
                drop += 1
            if drop:
                del chunks[:drop]
                del self._starts[:drop]

    def since(self, position: int = 0) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        chunks = self._chunks
        first = max(0, bisect_right(self._starts, position) - 1)
        for chunk in chunks[first:]:
            skip = position - chunk.start
            items = chunk.items[skip:] if skip > 0 else chunk.items
            record = chunk.record
            out.extend([record(item) for item in items])
        return out

    def iter_data(self, api_key: str, kinds: tuple[str, ...]) -> Iterator[Any]:
        for chunk in self._chunks:
            if chunk.api_key == api_key and chunk.kind in kinds:
                yield from chunk.items

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
