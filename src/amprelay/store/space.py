"""The free-space guard: ingest refuses a durable write (503 + Retry-After) *before* the disk is
full, so the store always keeps room to record deliveries (a delete needs room in the WAL too).

Checked on every write, it asks for::

    min_free_disk_bytes + WAL_HEADROOM + expansion * backlog + (1 + expansion) * incoming

``incoming`` is the write's bytes; ``backlog`` the inbox's messages not yet turned into units;
``expansion`` how many bytes of queue units one byte of message may become (the relay counts
:data:`EXPANSION_PER_DESTINATION` per destination: every destination gets its own units).
``WAL_HEADROOM`` covers the write-ahead log growing up to its checkpoint before the pages return.

The free space is read (``statvfs``, which costs tens of microseconds: as much as the rest of a
single-event request) at most every :data:`REFRESH_SECONDS` while the estimate (the last reading
less what the writes allowed since may take) is more than twice what a write needs; nearer the
limit, on every write.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

WAL_HEADROOM = 8 * 1024 * 1024  # WAL autocheckpoint (1000 pages of 4 KiB) twice over
EXPANSION_PER_DESTINATION = 2
REFRESH_SECONDS = 0.05


class DiskGuard:
    def __init__(self, directory: str | os.PathLike[str], min_free: int, expansion: float = 0.0,
                 backlog: Callable[[], int] | None = None, headroom: int = WAL_HEADROOM,
                 refresh: float = REFRESH_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.directory = str(directory)
        self.min_free = min_free
        self.expansion = expansion
        self.backlog = backlog or (lambda: 0)
        self.headroom = headroom if expansion else 0
        self.refresh = refresh
        self._clock = clock
        self._free = 0  # the last reading ...
        self._read_at = -1e18  # ... when it was taken
        self._taken = 0  # bytes the writes allowed since may have used

    def free_bytes(self) -> int:
        st = os.statvfs(self.directory)
        return st.f_bavail * st.f_frsize

    def needed(self, incoming: int) -> int:
        e = self.expansion
        return int(self.min_free + self.headroom + e * self.backlog() + (1 + e) * incoming)

    def check(self, incoming: int = 0) -> str | None:
        """Why a write of ``incoming`` bytes must be refused now, or None."""
        need = self.needed(incoming)
        now = self._clock()
        free = self._free - self._taken
        if free < 2 * need or now - self._read_at >= self.refresh:
            try:
                free = self.free_bytes()
            except FileNotFoundError:  # the data dir went away: made again, as the store would
                Path(self.directory).mkdir(parents=True, exist_ok=True)
                free = self.free_bytes()
            self._free, self._read_at, self._taken = free, now, 0
        if free < need:
            return (f"only {free} bytes free on the data disk; this write needs {need} "
                    f"(keeping {self.min_free} free for delivery)")
        self._taken += int((1 + self.expansion) * incoming)
        return None
