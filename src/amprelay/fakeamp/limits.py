"""State behind dedupe and throttling: insert_id memory, events-per-second windows, daily counts."""

from __future__ import annotations

from collections import deque
from typing import Any

from amprelay.fakeamp.config import DEDUPE_WINDOW_MS


class Deduper:
    """Remembers (api_key, device_id or user_id, insert_id) for Amplitude's 7-day window.

    Keys are kept as Python hashes (one int each) to keep memory small under long benchmarks.
    """

    __slots__ = ("_seen", "window_ms")

    def __init__(self, window_ms: int = DEDUPE_WINDOW_MS) -> None:
        self._seen: dict[int, int] = {}
        self.window_ms = window_ms

    def seen_before(self, api_key: str, item: dict[str, Any], now_ms: int) -> bool:
        """True if ``item`` repeats an insert_id already accepted; otherwise remember it."""
        insert_id = item.get("insert_id")
        if insert_id is None or insert_id == "":
            return False
        device_id = item.get("device_id")
        if device_id:
            key = hash((api_key, "d", device_id, insert_id))
        else:
            key = hash((api_key, "u", item.get("user_id"), insert_id))
        first = self._seen.get(key)
        if first is not None and now_ms - first < self.window_ms:
            return True
        self._seen[key] = now_ms
        return False

    def clear(self) -> None:
        self._seen.clear()

    def __len__(self) -> int:
        return len(self._seen)


class RateWindow:
    """Events per key over a sliding window (seconds)."""

    __slots__ = ("_hits", "_totals")

    def __init__(self) -> None:
        self._hits: dict[Any, deque[tuple[float, int]]] = {}
        self._totals: dict[Any, int] = {}

    def current(self, key: Any, now: float, window_s: float) -> int:
        hits = self._hits.get(key)
        if not hits:
            return 0
        cutoff = now - window_s
        total = self._totals[key]
        while hits and hits[0][0] <= cutoff:
            total -= hits.popleft()[1]
        if not hits:
            del self._hits[key]
            del self._totals[key]
            return 0
        self._totals[key] = total
        return total

    def add(self, key: Any, now: float, n: int) -> None:
        hits = self._hits.get(key)
        if hits is None:
            self._hits[key] = deque(((now, n),))
            self._totals[key] = n
        else:
            hits.append((now, n))
            self._totals[key] += n

    def clear(self) -> None:
        self._hits.clear()
        self._totals.clear()


class DailyCounter:
    """Events per key since start or reset (the fake's stand-in for Amplitude's rolling 24 h)."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[Any, int] = {}

    def get(self, key: Any) -> int:
        return self._counts.get(key, 0)

    def add(self, key: Any, n: int) -> None:
        self._counts[key] = self._counts.get(key, 0) + n

    def clear(self) -> None:
        self._counts.clear()
