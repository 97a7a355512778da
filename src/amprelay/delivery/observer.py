"""What delivery tells an observer (the console's activity record), as plain calls.

Delivery never depends on who listens: :class:`DeliveryObserver` is a protocol, called from the
delivery worker after Amplitude answered a batch and after a round's outcomes were written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from amprelay.store.base import Lease

Settled = Literal["delivered", "retrying", "dead"]


class DeliveryObserver(Protocol):
    def on_answer(self, destination: str, url: str, status: int | None, error: str, entries: int,
                  leases: Sequence[Lease], now: float) -> None:
        """Amplitude answered one request of ``entries`` units (``status`` None: no answer;
        ``error`` is Amplitude's error text or the transport error, empty on success)."""

    def on_settled(self, outcomes: Sequence[tuple[Lease, Settled, str]], now: float) -> None:
        """A round's outcomes are durable: each unit delivered, back for a retry, or dead
        (with the reason)."""
