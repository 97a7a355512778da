"""The inbox processor gives way to ingest, but never stops mapping."""

from __future__ import annotations

import time

import orjson

from amprelay.relay.inbox import InboxProcessor, IngestPressure, SQLiteInbox


def make(tmp_path, pressure, max_yield=0.05):
    inbox = SQLiteInbox(tmp_path / "q.sqlite3")
    seen: list[int] = []

    def process(rows):
        seen.extend(len(payload) for _id, _src, payload, _reason in rows)
        return rows

    proc = InboxProcessor(inbox, process, lambda result, consume: inbox._conn.execute(*consume), batch=20,
                          pressure=pressure, max_yield=max_yield)
    return inbox, proc, seen


def test_takes_a_full_batch_when_ingest_is_quiet_and_one_row_when_busy(tmp_path):
    pressure = IngestPressure()
    inbox, proc, _ = make(tmp_path, pressure)
    assert proc._give_way() == 20
    pressure.enter()
    t = time.monotonic()
    assert proc._give_way() == 1
    assert 0.04 <= time.monotonic() - t < 1.0  # waited up to max_yield, no longer
    pressure.exit()
    assert proc._give_way() == 1  # just ended: not quiet yet
    time.sleep(0.11)
    assert proc._give_way() == 20
    inbox.close()


def test_mapping_progresses_under_endless_ingest(tmp_path):
    pressure = IngestPressure()
    pressure.enter()  # a request in flight that never ends
    inbox, proc, seen = make(tmp_path, pressure)
    for i in range(5):
        inbox.append("web", orjson.dumps([{"n": i}]))
    proc.start()
    deadline = time.monotonic() + 5
    while len(seen) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.stop()
    assert len(seen) == 5
    assert inbox.depth() == 0
    inbox.close()
