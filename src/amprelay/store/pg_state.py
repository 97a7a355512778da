"""What a PostgreSQL queue keeps in memory: a group commit's pending writes and a worker's
buckets and leases (so a lease need not read them back)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from amprelay.store.base import MessageClaims, NewUnit

__all__ = ["Pending", "WorkerState"]


class Pending:
    """Units (and dead letters, claims) waiting for the group commit; ``ids`` once written."""

    __slots__ = ("units", "dead", "claims", "ids")

    def __init__(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                 claims: MessageClaims | None = None):
        self.units = units
        self.dead = dead
        self.claims = claims
        self.ids: list[int] = []


class WorkerState:
    """A worker's buckets (renewed at ``checked_at``) and its leased units (id -> partition,
    lease until), so a lease need not look them up."""

    __slots__ = ("owned", "checked_at", "leases", "clean_upto", "clean_at", "clean_owned", "clean_due")

    def __init__(self) -> None:
        self.owned: list[int] = []
        self.checked_at = -math.inf
        self.leases: dict[int, tuple[str, float]] = {}
        # the last full scan (at clean_at, of clean_owned) found nothing ready up to clean_upto
        # (0: no such scan holds); it holds until clean_due, when a waiting retry comes due
        self.clean_upto = 0
        self.clean_at = -math.inf
        self.clean_owned: list[int] = []
        self.clean_due = math.inf
