"""Replay of archived Segment messages (NDJSON / JSONL, gzip or plain: the layout of Segment's
archives) through the same triggers, mappings and delivery as live traffic.

Progress is checkpointed per file (byte offset of the last line whose units are durably
queued) in ``<data_dir>/replay-checkpoints.json``, so an interrupted replay resumes where it
stopped. Units carry stable insert_ids derived from each message's messageId, so even the few
lines between the last checkpoint and a crash are deduplicated by Amplitude if queued again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from amprelay.destination.js import js_json_loads
from amprelay.spec import validate_message
from amprelay.store.paths import write_private


def open_lines(path: Path) -> tuple[io.BufferedReader, io.BufferedReader]:
    """(lines, raw): the decoded line stream and the raw file (whose position shows progress)."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return io.BufferedReader(gzip.GzipFile(fileobj=raw)), raw
    return raw, raw


def file_key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:24]


class Checkpoints:
    """Line offsets per file, written atomically (write + fsync + rename)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data: dict[str, int] = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            self.data = {}

    def get(self, key: str) -> int:
        return int(self.data.get(key, 0))

    def set(self, key: str, lines_done: int) -> None:
        self.data[key] = lines_done
        write_private(self.path, orjson.dumps(self.data))  # 0600, atomic, fsync'd


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def message_time(msg: dict[str, Any]) -> float | None:
    for key in ("timestamp", "receivedAt", "originalTimestamp", "sentAt"):
        v = msg.get(key)
        if isinstance(v, str):
            try:
                return parse_time(v)
            except ValueError:
                continue
    return None


@dataclass
class LineItem:
    line_no: int  # 1-based
    message: Any
    error: str | None
    pos: int = 0  # bytes of the file read so far


def iter_messages(path: Path, skip_lines: int = 0) -> Iterator[LineItem]:
    lines, rawfile = open_lines(path)
    with lines, rawfile:
        for n, raw in enumerate(lines, start=1):
            if n <= skip_lines:
                continue
            pos = rawfile.tell()
            if not raw.strip():
                yield LineItem(n, None, None, pos)
                continue
            try:
                msg = js_json_loads(raw)
            except ValueError as exc:
                yield LineItem(n, raw.decode("utf-8", "replace")[:2000], f"line {n}: not valid JSON: {exc}", pos)
                continue
            problems = validate_message(msg)
            yield LineItem(n, msg, f"line {n}: " + "; ".join(problems) if problems else None, pos)


@dataclass
class ReplayStats:
    lines: int = 0
    messages: int = 0
    skipped_time: int = 0
    invalid: int = 0
    units: int = 0
    per_subscription: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)


class RateLimiter:
    def __init__(self, per_second: float | None):
        self.per_second = per_second
        self.start = time.monotonic()
        self.count = 0

    def wait(self, n: int) -> None:
        if not self.per_second:
            return
        self.count += n
        due = self.start + self.count / self.per_second
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
