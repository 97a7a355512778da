"""The inbox: accepted messages, durable before ingest answers, transformed later.

Ingest only parses, validates and appends raw messages here (one fsync'd transaction for all
concurrent requests: group commit), so it answers fast whatever the subscriptions cost. The
:class:`InboxProcessor` thread reads the oldest messages, runs them through the relay's
triggers, mappings and actions, and stores the resulting queue units *and* removes the messages
from the inbox in one transaction of the queue's SQLite file: each message becomes units exactly
once, even across crashes.

The inbox lives in the store's SQLite file (:mod:`amprelay.store.inbox`). The PostgreSQL backend
has no inbox: its relays transform inline (see ``Relay.accept_sync``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from amprelay.js.json import loads
from amprelay.store.base import InboxReceipt
from amprelay.store.inbox import SQLiteInbox

__all__ = ["InboxProcessor", "IngestPressure", "SQLiteInbox", "SharedPressure", "Shard", "shard_key"]

log = logging.getLogger("amprelay.inbox")


class IngestPressure:
    """How many ingest requests are being handled right now (the HTTP layer counts them on the
    event loop's thread; the processor only reads the count)."""

    __slots__ = ("inflight",)

    def __init__(self) -> None:
        self.inflight = 0

    def enter(self) -> None:
        self.inflight += 1

    def exit(self) -> None:
        self.inflight -= 1

    @property
    def heavy(self) -> bool:
        """Whether the processor should wait: here, while any request is in flight (it shares
        the GIL with them)."""
        return self.inflight > 0

    #: whether :meth:`weigh` counts (the HTTP layer reads Content-Length only then)
    weighs = False

    def weigh(self, n: int) -> None:
        """``n`` more (or fewer) bytes of request bodies in flight (what a :class:`SharedPressure`
        weighs; one process counts requests only)."""


class SharedPressure:
    """The ingest requests in flight in the ingest processes (``serve --ingest-processes``), for a
    processor in another process: ingest process ``k`` writes, alone (:meth:`slot`), its count of
    requests in flight in slot ``2k`` of a shared page (a ``memfd``) and their bodies' bytes in
    slot ``2k + 1``.

    Such a processor (``nice`` 19: the kernel gives ingest the CPU first) waits for them only
    while they hold at least ``HEAVY_BYTES`` (:attr:`heavy`): one batch request, or single events
    queueing in a saturated ingest process; a few single events waiting for their group commit,
    always in flight under steady traffic, need no CPU and must not stop mapping. Its
    transactions stay small (``BESIDE_INGEST_PROCESSES`` in :mod:`amprelay.relay.workers`): its
    writes hold the store's lock and would delay their group commits."""

    __slots__ = ("fd", "processes", "_map", "_view")

    SLOT_BYTES = 8
    HEAVY_BYTES = 32 * 1024

    def __init__(self, fd: int, processes: int):
        import mmap

        self.fd = fd
        self.processes = processes
        size = max(mmap.PAGESIZE, 2 * processes * self.SLOT_BYTES)
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)
        self._map = mmap.mmap(fd, size)
        self._view = memoryview(self._map).cast("q")[:2 * processes]

    @classmethod
    def create(cls, processes: int) -> SharedPressure:
        """A new page (its descriptor inherited by the processes started with it in ``pass_fds``)."""
        return cls(os.memfd_create("amprelay-ingest-pressure", 0), processes)

    @property
    def inflight(self) -> int:
        return sum(self._view[0::2])

    @property
    def bytes_inflight(self) -> int:
        return sum(self._view[1::2])

    @property
    def heavy(self) -> bool:
        return self.bytes_inflight >= self.HEAVY_BYTES

    def reset(self, k: int) -> None:
        """Ingest process ``k``'s counts to 0: it is gone (it may have died with requests in flight)."""
        self._view[2 * k] = self._view[2 * k + 1] = 0

    def slot(self, k: int) -> _SlotPressure:
        """The counter ingest process ``k`` keeps (its HTTP layer's :class:`IngestPressure`); the
        main process reset it (:meth:`reset`) before starting that process."""
        return _SlotPressure(self._view, 2 * k)


class _SlotPressure(IngestPressure):
    __slots__ = ("_view", "_k", "_bytes")

    weighs = True

    def __init__(self, view: memoryview, k: int):
        super().__init__()
        self._view = view
        self._k = k
        self._bytes = 0

    def enter(self) -> None:
        self.inflight += 1
        self._view[self._k] = self.inflight

    def exit(self) -> None:
        self.inflight -= 1
        self._view[self._k] = self.inflight

    def weigh(self, n: int) -> None:
        self._bytes += n
        self._view[self._k + 1] = self._bytes


class Shard:
    """Mapper ``index`` of ``count`` (``serve --workers``): it maps the messages whose key (see
    :func:`shard_key`) hashes to ``index``, so each user's messages go through one process in order."""

    __slots__ = ("index", "count", "by_session")

    def __init__(self, index: int, count: int, by_session: bool = False):
        if not 0 <= index < count:
            raise ValueError(f"shard {index} of {count}")
        self.index = index
        self.count = count
        self.by_session = by_session

    def of(self, message: Any) -> int:
        return zlib.crc32(shard_key(message, self.by_session).encode()) % self.count

    def mine(self, message: Any) -> bool:
        return self.count == 1 or self.of(message) == self.index


def shard_key(message: Any, by_session: bool = False) -> str:
    """What keeps a message with the others it must stay in order with: the queue's partition
    under the presets (``userId``, else ``context.device.id``, else ``anonymousId``); with
    server-side sessions, the session's key (the device first), whose state one process must own."""
    if not isinstance(message, dict):
        return ""
    context = message.get("context")
    device = context.get("device") if isinstance(context, dict) else None
    device_id = device.get("id") if isinstance(device, dict) else None
    order = (device_id, message.get("anonymousId"), message.get("userId")) if by_session else \
        (message.get("userId"), device_id, message.get("anonymousId"))
    for value in order:
        if value not in (None, "") and not isinstance(value, dict | list | bool):
            return str(value)
    return ""


class InboxProcessor:
    """A thread that turns inbox messages into queue units (see the module docstring).

    One transaction takes up to ``batch`` inbox rows (each one request's messages) holding up to
    ``batch_bytes`` of payload (at least one row), so single-message requests are mapped many to
    a transaction (one commit, one fsync) and large batches a few at a time.

    With ``pressure``, ingest goes first. The processor shares the GIL with the event loop that
    parses requests, so while ingest requests are in flight it maps for at most ``slice`` seconds
    at a time (checked between messages) and then waits, GIL released, until no request is in
    flight or ``max_wait`` has passed; and a transaction takes only ``pressure_bytes`` of payload
    (one large batch request, or some dozens of single events). A burst is so made durable at
    ingest's own speed and mapped after; under pressure mapping still gets at least
    slice / (slice + max_wait) of the time.

    With ingest in other processes see :class:`SharedPressure`."""

    def __init__(self, inbox: SQLiteInbox, process: Callable[[list[tuple[int, str, Any, str | None]]], Any],
                 store: Callable[[Any, InboxReceipt], None], batch: int = 2000,
                 pressure: IngestPressure | SharedPressure | None = None, slice: float = 0.001, max_wait: float = 0.05,
                 shard: Shard | None = None, idle_wait: float = 0.25, batch_bytes: int = 2 * 1024 * 1024,
                 pressure_bytes: int = 64 * 1024, nice: int = 0):
        self.inbox = inbox
        self.shard = shard
        self.idle_wait = idle_wait
        self.cursor = inbox.cursors()[0][shard.index] if shard is not None else 0
        self._process = process
        self._store = store
        self.batch = batch
        self.batch_bytes = batch_bytes
        self.pressure_bytes = pressure_bytes
        self.nice = nice  # the thread's scheduling priority (os.setpriority), 0 as the process's
        self.pressure = pressure
        self.slice = slice
        self.max_wait = max_wait
        self._running_since = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="amprelay-inbox", daemon=True)
        self.processed = 0
        self.consumed_bytes = 0  # payload bytes consumed (a worker process reports them to ingest's disk guard)
        self.last_error: str | None = None
        self._logged_at = -60.0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.inbox.arrived.set()
        self._thread.join(timeout)

    def drain_once(self, limit: int | None = None, max_bytes: int | None = None) -> int:
        """Process one batch (``limit`` rows, default ``batch``, within ``max_bytes`` of payload,
        default ``batch_bytes``); returns how many rows it consumed."""
        shard = self.shard
        if shard is not None:
            return self._drain_shard(shard, limit or self.batch, max_bytes=max_bytes or self.batch_bytes)
        rows = self.inbox.read(limit or self.batch, max_bytes or self.batch_bytes)
        if not rows:
            return 0
        if self.pressure is None:
            decoded = [(i, src, loads(payload), reason) for i, src, payload, reason in rows]
        else:  # messages handed over one by one, pausing for ingest in between
            decoded = [(i, src, loads(payload) if reason is not None else self._paced(loads(payload)),
                        reason) for i, src, payload, reason in rows]
        result = self._process(decoded)
        self._store(result, SQLiteInbox.receipt(rows))
        self.inbox.consumed(rows)
        self.processed += len(rows)
        return len(rows)

    def _drain_shard(self, shard: Shard, limit: int, up_to: int | None = None, max_bytes: int | None = None) -> int:
        rows = self.inbox.read_after(self.cursor, limit, up_to, max_bytes)
        if not rows:
            return 0
        mine = shard.mine
        decoded: list[tuple[int, str, Any, str | None]] = []
        for i, src, payload, reason in rows:
            if reason is not None:  # a message rejected at ingest: shard 0 dead-letters it
                if shard.index == 0:
                    decoded.append((i, src, loads(payload), reason))
            else:
                decoded.append((i, src, [m for m in loads(payload) if mine(m)], None))
        result = self._process(decoded)
        self._store(result, InboxReceipt(rows[-1][0], shard.index))
        self.cursor = rows[-1][0]
        self.consumed_bytes += sum(len(r[2]) for r in rows) if shard.index == 0 else 0
        self.processed += len(rows)
        return len(rows)

    def catch_up(self, up_to: int) -> int:
        """Consume this shard's messages up to row ``up_to`` (the shards are being changed)."""
        assert self.shard is not None
        n = 0
        while self.cursor < up_to:
            done = self._drain_shard(self.shard, self.batch, up_to, self.batch_bytes)
            if not done:
                break
            n += done
        return n

    def _paced(self, messages: list[Any]):
        for message in messages:
            self._give_way()
            yield message

    def _give_way(self) -> bool:
        """If ingest requests are in flight (enough of them: :attr:`IngestPressure.heavy`) and this
        thread has mapped for ``slice`` seconds, wait (GIL released) until they are not or
        ``max_wait`` has passed. Whether any ingest request was in flight."""
        pressure = self.pressure
        if pressure is None or pressure.inflight <= 0:
            return False
        now = time.monotonic()
        if now - self._running_since >= self.slice and pressure.heavy:
            deadline = now + self.max_wait
            while pressure.heavy and not self._stop.is_set():
                time.sleep(0.001)
                now = time.monotonic()
                if now >= deadline:
                    break
            self._running_since = now
        return True

    def _run(self) -> None:
        if self.nice:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self.inbox.arrived.clear()
                self._running_since = time.monotonic()
                if self.drain_once(None, self.pressure_bytes if self._give_way() else None):
                    backoff = 0.1
                    continue
                self.inbox.arrived.wait(self.idle_wait)
            except Exception as exc:  # the queue refused (disk full...): keep the messages, retry
                self.last_error = str(exc)
                now = time.monotonic()
                if now - self._logged_at >= 60.0:  # at most once a minute
                    self._logged_at = now
                    log.error("inbox processing failed, retrying: %s", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
