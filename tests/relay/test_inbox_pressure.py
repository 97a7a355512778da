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


# -- ingest in other processes (serve --ingest-processes): SharedPressure --------------------------


def test_shared_pressure_sums_what_each_ingest_process_publishes_across_processes():
    import os
    import subprocess
    import sys

    from amprelay.relay.inbox import SharedPressure

    shared = SharedPressure.create(2)
    try:
        here = shared.slot(0)
        here.enter()
        here.enter()
        here.awaiting_store()  # one of the two waits for its group commit: it needs no CPU
        assert (shared.busy, shared.inflight) == (1, 2)
        # ingest process 1 is another process: it opens the page from the inherited descriptor
        code = ("import sys; from amprelay.relay.inbox import SharedPressure; "
                "p = SharedPressure(int(sys.argv[1]), 2).slot(1); [p.enter() for _ in range(3)]")
        subprocess.run([sys.executable, "-c", code, str(shared.fd)], pass_fds=(shared.fd,), check=True)
        assert (shared.busy, shared.inflight) == (4, 5)  # it exited with 3 in flight...
        shared.reset(1)  # ...so its restart starts from 0
        assert (shared.busy, shared.inflight) == (1, 2)
        here.store_done()
        here.exit()
        here.exit()
        assert (shared.busy, shared.inflight) == (0, 0)
    finally:
        os.close(shared.fd)


def _rows_of(inbox, n, size):
    for r in range(n):
        inbox.append("src", orjson.dumps([{"n": r, "pad": "x" * size}]))


def test_processor_maps_while_ingest_waits_for_its_commit_in_small_transactions(tmp_path):
    """Requests in flight but all waiting for their group commit (busy 0): the processor does not
    wait for them (it would starve single-event traffic), but its transactions stay small."""
    import os

    from amprelay.relay.inbox import SharedPressure

    queue = SQLiteQueue(tmp_path / "q.sqlite")
    inbox = SQLiteInbox(queue.db)
    _rows_of(inbox, 40, 1000)
    shared = SharedPressure.create(1)
    ingest = shared.slot(0)
    ingest.enter()
    ingest.awaiting_store()
    transactions: list[int] = []

    def process(rows):
        return [m["n"] for _i, _s, payload, _r in rows for m in payload]

    def store(result, consumed):
        transactions.append(len(result))
        queue.enqueue_with_dead([], [], consumed)

    proc = InboxProcessor(inbox, process, store, pressure=shared, max_wait=10.0, pressure_bytes=8 * 1024)
    try:
        started = time.monotonic()
        while proc.drain_once(None, proc.pressure_bytes if proc._give_way() else None):
            pass
        took = time.monotonic() - started
    finally:
        inbox.close()
        queue.close()
        os.close(shared.fd)
    assert sum(transactions) == 40
    assert max(transactions) <= 8  # ~1 KB rows, 8 KiB a transaction while a request is in flight
    assert took < 5.0  # never waited max_wait (10 s) for a request that needs no CPU


def test_processor_gives_way_to_a_request_that_needs_the_cpu_but_never_starves(tmp_path):
    """A request needing the CPU for ever: after each ``slice`` of mapping the processor waits
    ``max_wait`` (50 messages of 1 ms, slices of 2 ms, waits of 20 ms: some 25 waits, >= 0.4 s),
    and still maps everything, in order."""
    import os

    from amprelay.relay.inbox import SharedPressure

    queue = SQLiteQueue(tmp_path / "q.sqlite")
    inbox = SQLiteInbox(queue.db)
    for r in range(5):
        inbox.append("src", orjson.dumps([{"n": r * 10 + i} for i in range(10)]))
    shared = SharedPressure.create(1)
    shared.slot(0).enter()  # busy for ever
    seen: list[int] = []

    def process(rows):
        for _id, _src, payload, _reason in rows:
            for message in payload:
                time.sleep(0.001)
                seen.append(message["n"])

    def store(_result, consumed):
        queue.enqueue_with_dead([], [], consumed)

    proc = InboxProcessor(inbox, process, store, pressure=shared, slice=0.002, max_wait=0.02)
    started = time.monotonic()
    proc.start()
    try:
        deadline = started + 20
        while len(seen) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        took = time.monotonic() - started
    finally:
        proc.stop()
        inbox.close()
        queue.close()
        os.close(shared.fd)
    assert seen == list(range(50))
    assert took >= 0.3  # it waited: 50 ms of mapping alone would take well under that
