"""Group commit: concurrent writers share one durable transaction (one fsync).

One writer thread takes every piece of work submitted so far and hands the list to
``write_group``, which writes it in one transaction; then it wakes the callers: threads through
an Event, coroutines through their event loop (one callback per loop per group), so ingest awaits
the fsync on the event loop without a worker thread per request. If the transaction fails, every
caller of the group gets its error. The only group commit of amprelay: the SQLite store (inbox
appends and queue enqueues in the same transactions) and the PostgreSQL queue both use it.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Waiter(Generic[T]):
    __slots__ = ("work", "loop", "future", "event", "error")

    def __init__(self, work: T, loop: asyncio.AbstractEventLoop | None = None,
                 future: asyncio.Future | None = None):
        self.work = work
        self.loop = loop
        self.future = future
        self.event = threading.Event() if loop is None else None
        self.error: BaseException | None = None


def _resolve(waiters: list[_Waiter], error: BaseException | None) -> None:
    for w in waiters:
        if w.future is not None and not w.future.done():
            if error is None:
                w.future.set_result(None)
            else:
                w.future.set_exception(error)


class GroupCommit(Generic[T]):
    def __init__(self, write_group: Callable[[list[T]], None], name: str = "amprelay-group-commit"):
        self._write_group = write_group
        self._queue: queue.SimpleQueue[_Waiter[T] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, work: T) -> None:
        """Write ``work`` durably together with whatever else is waiting; raise if that failed."""
        if self._closed:
            raise RuntimeError("the store is closed")
        w: _Waiter[T] = _Waiter(work)
        self._queue.put(w)
        assert w.event is not None
        w.event.wait()
        if w.error is not None:
            raise w.error

    async def submit_async(self, work: T) -> None:
        """:meth:`submit` for a coroutine: the event loop waits, no thread blocks."""
        if self._closed:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Waiter(work, loop, future))
        await future

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
            error: BaseException | None = None
            try:
                self._write_group([w.work for w in group])
            except BaseException as exc:  # every caller of the group sees the failure
                error = exc
            by_loop: dict[asyncio.AbstractEventLoop, list[_Waiter[T]]] = {}
            for w in group:
                if w.loop is None:
                    w.error = error
                    assert w.event is not None
                    w.event.set()
                else:
                    by_loop.setdefault(w.loop, []).append(w)
            for loop, waiters in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_resolve, waiters, error)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass
