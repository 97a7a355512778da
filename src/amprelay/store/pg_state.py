"""What a PostgreSQL queue keeps in memory: a group commit's pending writes and a worker's
buckets and leases (so a lease need not read them back)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from amprelay.store.base import MessageClaims, NewUnit

__all__ = ["InFlight", "Pending", "WorkerState"]


class Pending:
    """Units (and dead letters, claims) waiting for the group commit; ``ids`` once written."""

    __slots__ = ("units", "dead", "claims", "ids")

    def __init__(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                 claims: MessageClaims | None = None):
        self.units = units
        self.dead = dead
        self.claims = claims
        self.ids: list[int] = []


class InFlight(NamedTuple):
    """A leased unit, as the worker that leased it remembers it (nothing about a lease is written
    to the unit's row): its partition, until when, the lease's token, its bucket's epoch and bucket."""

    partition: str
    until: float
    token: int
    epoch: int
    bucket: int


class WorkerState:
    """A worker's buckets (renewed at ``checked_at``; bucket -> its ownership epoch) and its leased
    units, so a lease need not look them up. A lease that expired unsettled moves from ``leases``
    to ``expired``: its settlement still counts until its unit is leased again."""

    __slots__ = ("owned", "leasable", "epochs", "checked_at", "leases", "expired", "clean_upto", "clean_at",
                 "clean_owned", "clean_due", "seen_top")

    def __init__(self) -> None:
        self.owned: list[int] = []
        self.leasable: list[int] = []  # owned, but for the buckets being drained to give back
        self.epochs: dict[int, int] = {}
        self.checked_at = -math.inf
        self.leases: dict[int, InFlight] = {}
        self.expired: dict[int, InFlight] = {}
        # the last full scan (at clean_at, of clean_owned) found nothing ready up to clean_upto
        # (0: no such scan holds); it holds until clean_due, when a waiting retry comes due
        self.clean_upto = 0
        self.clean_at = -math.inf
        self.clean_owned: list[int] = []
        self.clean_due = math.inf
        self.seen_top = 0  # the newest unit the last lease saw

    def holder(self, uid: int, token: int) -> InFlight | None:
        """The lease ``token`` of unit ``uid`` if it is this worker's latest lease of it."""
        held = self.leases.get(uid)
        if held is None:
            held = self.expired.get(uid)
        return held if held is not None and held.token == token else None

    def forget(self, uid: int) -> None:
        self.leases.pop(uid, None)
        self.expired.pop(uid, None)
