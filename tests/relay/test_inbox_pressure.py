"""The inbox processor gives way to ingest but never starves: under permanent ingest pressure it
still maps every message, once, in order."""

from __future__ import annotations

import time

import orjson

from amprelay.relay.inbox import InboxProcessor, IngestPressure
from amprelay.store.inbox import SQLiteInbox
from amprelay.store.sqlite import SQLiteQueue


def test_processor_progresses_under_permanent_pressure(tmp_path):
    queue = SQLiteQueue(tmp_path / "q.sqlite")
    inbox = SQLiteInbox(queue.db)
    for r in range(5):
        inbox.append("src", orjson.dumps([{"n": r * 10 + i} for i in range(10)]))
    seen: list[int] = []

    def process(rows):
        for _id, _src, payload, _reason in rows:
            for message in payload:
                time.sleep(0.001)  # a mapping that takes time, so the processor's slices run out
                seen.append(message["n"])
        return None

    def store(_result, consumed):
        queue.enqueue_with_dead([], [], consumed)

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
        queue.close()
    assert seen == list(range(50))
    assert proc.processed == 5


def test_group_writer_serves_coroutines_and_threads_in_shared_transactions(tmp_path):
    import asyncio
    import threading

    from amprelay.store.groupcommit import GroupCommit

    groups: list[int] = []
    written: list[str] = []

    def write(group):
        time.sleep(0.005)  # an fsync's worth: submissions pile up meanwhile
        groups.append(len(group))
        written.extend(rows[0][0] for rows in group)

    writer = GroupCommit(write)

    async def many():
        await asyncio.gather(*(writer.submit_async([(f"a{i}", b"[]", None, 0.0)]) for i in range(50)))

    threads = [threading.Thread(target=writer.submit, args=([(f"t{i}", b"[]", None, 0.0)],)) for i in range(10)]
    for t in threads:
        t.start()
    asyncio.run(many())
    for t in threads:
        t.join()
    writer.close()
    assert sorted(written) == sorted([f"a{i}" for i in range(50)] + [f"t{i}" for i in range(10)])
    assert len(groups) < 60  # shared transactions, not one each


def test_group_writer_failure_reaches_every_caller_of_the_group():
    import asyncio

    import pytest

    from amprelay.store.groupcommit import GroupCommit

    def write(group):
        raise OSError("disk full")

    writer = GroupCommit(write)
    with pytest.raises(OSError, match="disk full"):
        writer.submit([("s", b"[]", None, 0.0)])

    async def one():
        await writer.submit_async([("s", b"[]", None, 0.0)])

    with pytest.raises(OSError, match="disk full"):
        asyncio.run(one())
    writer.close()
