"""Group commit: concurrent writers share one durable transaction.

Each caller hands its work to :meth:`GroupCommit.submit` and blocks. The first caller to find
no write in progress becomes the writer: it takes every piece of work submitted so far and
writes them in one transaction (one fsync) with ``write_group``; the others wait for it and
then return, or raise the error that transaction raised. Many small writes then cost one fsync.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Slot(Generic[T]):
    __slots__ = ("work", "done", "error")

    def __init__(self, work: T):
        self.work = work
        self.done = False
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    def __init__(self, write_group: Callable[[list[T]], None]):
        self._write_group = write_group
        self._cv = threading.Condition()
        self._pending: list[_Slot[T]] = []
        self._writing = False

    def submit(self, work: T) -> None:
        """Write ``work`` durably together with whatever else is waiting; raise if that failed."""
        me = _Slot(work)
        with self._cv:
            self._pending.append(me)
            while not me.done:
                if self._writing:
                    self._cv.wait()
                    continue
                self._writing = True
                group, self._pending = self._pending, []
                self._cv.release()
                try:
                    try:
                        self._write_group([s.work for s in group])
                    except BaseException as exc:  # every caller of the group sees the failure
                        for s in group:
                            s.error = exc
                finally:
                    self._cv.acquire()
                    self._writing = False
                    for s in group:
                        s.done = True
                    self._cv.notify_all()
        if me.error is not None:
            raise me.error
