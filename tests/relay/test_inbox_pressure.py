"""The inbox processor gives way to ingest but never starves: under permanent ingest pressure it
still maps every message, once, in order."""

from __future__ import annotations

import time

import orjson

from amprelay.relay.inbox import InboxProcessor, IngestPressure
from amprelay.store.inbox import SQLiteInbox
from amprelay.store.sqlite import SQLiteQueue


def _slow_inbox(tmp_path):
    """5 inbox rows of 10 messages, each mapped in 1 ms (so the processor's slices run out): the
    queue, the inbox, the numbers mapped (in order), and the processor's process and store."""
    queue = SQLiteQueue(tmp_path / "q.sqlite")
    inbox = SQLiteInbox(queue.db)
    for r in range(5):
        inbox.append("src", orjson.dumps([{"n": r * 10 + i} for i in range(10)]))
    seen: list[int] = []

    def process(rows):
        for _id, _src, payload, _reason in rows:
            for message in payload:
                time.sleep(0.001)
                seen.append(message["n"])
        return None

    def store(_result, consumed):
        queue.enqueue_with_dead([], [], consumed)

    return queue, inbox, seen, process, store


def _map_all(proc: InboxProcessor, seen: list[int], *closing) -> float:
    """Run ``proc`` until it mapped the 50 messages (20 s at most); the seconds it took."""
    started = time.monotonic()
    proc.start()
    try:
        while len(seen) < 50 and time.monotonic() < started + 20:
            time.sleep(0.01)
        return time.monotonic() - started
    finally:
        proc.stop()
        for c in closing:
            c.close()


def test_processor_progresses_under_permanent_pressure(tmp_path):
    queue, inbox, seen, process, store = _slow_inbox(tmp_path)
    pressure = IngestPressure()
    pressure.inflight = 1  # ingest is never idle
    proc = InboxProcessor(inbox, process, store, pressure=pressure, slice=0.002, max_wait=0.005)
    _map_all(proc, seen, inbox, queue)
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
        here.weigh(1000)  # single events
        here.weigh(1000)
        assert (shared.inflight, shared.bytes_inflight, shared.heavy) == (2, 2000, False)
        # ingest process 1 is another process: it opens the page from the inherited descriptor
        code = ("import sys; from amprelay.relay.inbox import SharedPressure; "
                "p = SharedPressure(int(sys.argv[1]), 2).slot(1); [p.enter() for _ in range(3)]; p.weigh(64000)")
        subprocess.run([sys.executable, "-c", code, str(shared.fd)], pass_fds=(shared.fd,), check=True)
        # it exited with 3 requests in flight, a batch's worth: the mappers would wait
        assert (shared.inflight, shared.bytes_inflight, shared.heavy) == (5, 66000, True)
        shared.reset(1)  # its successor starts from 0
        assert (shared.inflight, shared.bytes_inflight, shared.heavy) == (2, 2000, False)
        here.weigh(-2000)
        here.exit()
        here.exit()
        assert (shared.inflight, shared.bytes_inflight) == (0, 0)
    finally:
        os.close(shared.fd)


def test_processor_beside_ingest_processes_maps_at_nice_19_without_waiting_in_small_transactions(tmp_path):
    """A single event always in flight in the ingest processes (steady single-event traffic): the
    processor does not wait for it (not heavy; the kernel gives ingest the CPU first: the thread
    runs at nice 19), but its transactions stay within ``pressure_bytes``; with none in flight
    they take ``batch_bytes``."""
    import os
    import threading

    from amprelay.relay.inbox import SharedPressure
    from amprelay.relay.workers import BESIDE_INGEST_PROCESSES

    queue = SQLiteQueue(tmp_path / "q.sqlite")
    inbox = SQLiteInbox(queue.db)
    for r in range(60):
        inbox.append("src", orjson.dumps([{"n": r, "pad": "x" * 1000}]))
    shared = SharedPressure.create(1)
    ingest = shared.slot(0)
    ingest.enter()
    ingest.weigh(1000)
    transactions: list[int] = []
    priorities: set[int] = set()
    seen: list[int] = []

    def process(rows):
        priorities.add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return [m["n"] for _i, _s, payload, _r in rows for m in payload]

    def store(result, consumed):
        transactions.append(len(result))
        seen.extend(result)
        queue.enqueue_with_dead([], [], consumed)

    settings = {**BESIDE_INGEST_PROCESSES, "pressure_bytes": 8 * 1024}
    proc = InboxProcessor(inbox, process, store, pressure=shared, **settings)
    try:
        started = time.monotonic()
        while len(seen) < 40:  # one step of the processor's loop at a time, as its thread runs them
            assert proc.drain_once(None, proc.pressure_bytes if proc._give_way() else None)
        assert time.monotonic() - started < 5.0  # it never waited for the requests in flight
        under_pressure = list(transactions)
        ingest.exit()  # ingest is idle: the rest in one transaction
        assert proc.drain_once(None, proc.pressure_bytes if proc._give_way() else None) == 20
        proc.start()  # the thread: at nice 19
        inbox.append("src", orjson.dumps([{"n": 60}]))
        deadline = time.monotonic() + 20
        while len(seen) < 61 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        proc.stop()
        inbox.close()
        queue.close()
        os.close(shared.fd)
    assert seen == list(range(61))
    assert max(under_pressure) <= 8  # ~1 KB rows, 8 KiB a transaction while a request is in flight
    assert transactions[len(under_pressure)] == 20
    assert priorities == {os.getpriority(os.PRIO_PROCESS, 0), 19}  # the test's own thread, then the processor's


def test_processor_beside_ingest_processes_waits_while_a_batch_is_in_flight_but_never_starves(tmp_path):
    """A batch request's worth in flight for ever: after each ``slice`` of mapping the processor
    waits ``max_wait`` (50 messages of 1 ms, slices of 2 ms, waits of 20 ms: some 25 waits,
    >= 0.4 s), and still maps everything, in order."""
    import os

    from amprelay.relay.inbox import SharedPressure

    queue, inbox, seen, process, store = _slow_inbox(tmp_path)
    shared = SharedPressure.create(1)
    ingest = shared.slot(0)
    ingest.enter()
    ingest.weigh(SharedPressure.HEAVY_BYTES)
    proc = InboxProcessor(inbox, process, store, pressure=shared, slice=0.002, max_wait=0.02)
    try:
        took = _map_all(proc, seen, inbox, queue)
    finally:
        os.close(shared.fd)
    assert seen == list(range(50))
    assert took >= 0.3  # it waited: 50 ms of mapping alone takes well under that
