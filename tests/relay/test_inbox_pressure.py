"""The inbox processor gives way to ingest but never starves: under permanent ingest pressure it
still maps every message, once, in order."""

from __future__ import annotations

import sqlite3
import time

import orjson

from amprelay.relay.inbox import InboxProcessor, IngestPressure, SQLiteInbox


def test_processor_progresses_under_permanent_pressure(tmp_path):
    inbox = SQLiteInbox(tmp_path / "q.sqlite")
    for r in range(5):
        inbox.append("src", orjson.dumps([{"n": r * 10 + i} for i in range(10)]))
    seen: list[int] = []

    def process(rows):
        for _id, _src, payload, _reason in rows:
            for message in payload:
                time.sleep(0.001)  # a mapping that takes time, so the processor's slices run out
                seen.append(message["n"])
        return None

    def store(_result, consume):
        conn = sqlite3.connect(inbox.path)
        conn.execute(*consume)
        conn.commit()
        conn.close()

    pressure = IngestPressure()
    pressure.inflight = 1  # ingest is never idle
    proc = InboxProcessor(inbox, process, store, pressure=pressure, slice=0.002, max_wait=0.005)
    proc.start()
    try:
        deadline = time.monotonic() + 20
        while len(seen) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        proc.stop()
        inbox.close()
    assert seen == list(range(50))
    assert proc.processed == 5
