"""The durable queue behind delivery: one small interface, several backends.

A queued *unit* is one Amplitude event, one identification or one user-mapping entry, with
everything needed to rebuild the request it came from (its :class:`UnitRoute`). Units are
acknowledged to their sender only once :meth:`Queue.enqueue` has returned (the data is on
disk), and removed only when Amplitude has accepted them (:meth:`Queue.ack`) or they were moved
to the dead-letter store (:meth:`Queue.dead_letter`).

Ordering contract (every backend): units of one *partition* (the user id, else the device id)
are leased in enqueue order. :meth:`Queue.lease` never returns a unit while an earlier unit of
its partition is leased or waiting for a retry, and for each partition it returns only the
leading run of units that share one route. A caller may therefore send the leased units of
different routes in parallel without reordering any user's or device's data.

The interface is shaped for a multi-worker PostgreSQL backend as well: ``worker_id`` and
``lease_seconds`` let a backend hand out partitions to several workers with expiring leases
(``FOR UPDATE SKIP LOCKED``); the embedded SQLite backend has one worker process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import orjson


@dataclass(frozen=True, slots=True, eq=False)
class UnitRoute:
    """Where and how a unit is sent: everything of the original request but its entries.

    ``template`` is the request body with the entries left out, as ordered ``(name, value)``
    pairs in the order the action wrote them. For JSON bodies the values are JSON values and
    ``entries_field`` (``"events"``) marks where the entries go; for form bodies the values are
    the exact strings sent. ``single`` is true when the action sent one object rather than an
    array (identifyUser's ``identification``): a batch of one is then sent as that object, a
    larger batch as an array (the Identify API accepts both).
    """

    destination: str
    method: str
    url: str
    encoding: str  # "json" | "form"
    entries_field: str  # "events" | "identification" | "mapping"
    single: bool
    template: tuple[tuple[str, object], ...]
    headers: tuple[tuple[str, str], ...] = ()
    _key: str = field(default="", init=False, repr=False)
    _path: str = field(default="", init=False, repr=False)
    _kind: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", orjson.dumps(
            [self.destination, self.method, self.url, self.encoding, self.entries_field, self.single,
             [list(p) for p in self.template], [list(h) for h in self.headers]]
        ).decode())
        rest = self.url.split("://", 1)[-1]
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
        object.__setattr__(self, "_path", path)
        if not self.url.startswith(("http://", "https://")):
            kind = "rejected"  # never became a request (an invalid message, a mapping error)
        elif path.endswith("/groupidentify"):
            kind = "groupidentify"
        elif path.endswith("/identify"):
            kind = "identify"
        elif path.endswith("/usermap"):
            kind = "usermap"
        else:
            kind = "events"
        object.__setattr__(self, "_kind", kind)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnitRoute) and other._key == self._key

    @property
    def kind(self) -> str:
        """The Amplitude API: ``events`` (HTTP V2 / Batch), ``identify``, ``groupidentify``,
        ``usermap``; ``rejected`` for dead letters that never became a request."""
        return self._kind

    @property
    def path(self) -> str:
        return self._path

    def key(self) -> str:
        """A stable text key: equal routes have equal keys."""
        return self._key

    @classmethod
    def from_key(cls, key: str) -> UnitRoute:
        d, method, url, encoding, entries_field, single, template, headers = orjson.loads(key)
        return cls(d, method, url, encoding, entries_field, single,
                   tuple((k, v) for k, v in template), tuple((k, v) for k, v in headers))


# The API key is not kept at rest: the store keeps a reference in a route's ``api_key`` field
# (``amprelay:destination-api-key:<first 8 hex digits of the key's SHA-256>``, so routes sent
# with different keys stay apart without the keys) and puts the destination's key from the
# current config back when it reads the route: a key rotated in the config applies to units
# queued before.
API_KEY_FIELD = "api_key"
API_KEY_REF = "amprelay:destination-api-key"

ApiKeys = Callable[[str], "str | None"]  # destination name -> its API key now (None: unknown)


def _reference(value: object) -> str:
    text = str(value)
    if text.startswith(API_KEY_REF):
        return text
    return f"{API_KEY_REF}:{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _with_api_key(route: UnitRoute, value: Callable[[object], str]) -> UnitRoute:
    return UnitRoute(route.destination, route.method, route.url, route.encoding, route.entries_field, route.single,
                 tuple((k, value(v) if k == API_KEY_FIELD else v) for k, v in route.template), route.headers)


def route_at_rest(route: UnitRoute) -> UnitRoute:
    """``route`` as the store keeps it: its API key replaced by a reference."""
    if not any(k == API_KEY_FIELD for k, _ in route.template):
        return route
    return _with_api_key(route, _reference)


def route_resolved(stored: UnitRoute, api_keys: ApiKeys | None) -> UnitRoute:
    """A stored route with its destination's current API key (left as the reference when the
    destination is unknown: Amplitude then refuses it and delivery holds its units)."""
    if api_keys is None or not any(k == API_KEY_FIELD and str(v).startswith(API_KEY_REF)
                                   for k, v in stored.template):
        return stored
    key = api_keys(stored.destination)
    return stored if key is None else _with_api_key(stored, lambda _v: key)


def routes_without_keys(rows: Iterable[tuple[int, str]]) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
    """The migration of stores written before keys were kept out of routes: for ``(id, key)``
    rows, the ``(new key, id)`` updates and the ``(id, survivor id)`` merges (routes that differed
    only by their API key become one)."""
    survivors: dict[str, int] = {}
    updates: list[tuple[str, int]] = []
    merges: list[tuple[int, int]] = []
    rows = list(rows)
    for rid, key in rows:
        new = route_at_rest(UnitRoute.from_key(key)).key()
        if new == key:
            survivors.setdefault(new, rid)
    for rid, key in rows:
        new = route_at_rest(UnitRoute.from_key(key)).key()
        if new == key:
            continue
        if new in survivors:
            merges.append((rid, survivors[new]))
        else:
            survivors[new] = rid
            updates.append((new, rid))
    return updates, merges


@dataclass(slots=True)
class NewUnit:
    """A unit to enqueue. ``entry`` is the entry's JSON (orjson bytes, key order kept)."""

    route: UnitRoute
    entry: bytes
    partition: str
    message_id: str
    created_at: float


@dataclass(slots=True)
class Lease:
    """A leased unit. ``id`` increases with enqueue order. ``token`` fences its settlement: a
    settlement carrying a token older than the unit's latest lease changes nothing."""

    id: int
    route: UnitRoute
    entry: bytes
    partition: str
    message_id: str
    created_at: float
    attempts: int = 0
    last_error: str | None = None
    token: int = 0


@dataclass(slots=True)
class MessageClaims:
    """messageId dedupe, decided in the enqueue's transaction (so a message is recorded as seen
    exactly when its units are stored, and relays sharing PostgreSQL agree).

    ``units_of`` maps each ``(source, messageId)`` to the indices of its units (and ``dead_of`` of
    its dead letters) in the enqueue. A message already seen within ``window`` seconds before
    ``now`` is a duplicate: its units and dead letters are not stored and it lands in
    :attr:`duplicates`; the others are recorded as seen at ``now``. Records older than the window
    are pruned."""

    window: float
    now: float
    units_of: dict[tuple[str, str], range] = field(default_factory=dict)
    dead_of: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    duplicates: set[tuple[str, str]] = field(default_factory=set)

    def skipped(self) -> tuple[set[int], set[int]]:
        """The unit and dead-letter indices of the duplicates."""
        units = {i for p in self.duplicates for i in self.units_of.get(p, ())}
        dead = {i for p in self.duplicates for i in self.dead_of.get(p, ())}
        return units, dead


DEDUPE_PRUNE_SECONDS = 60.0  # expired messageIds are deleted at most this often


@dataclass(frozen=True, slots=True)
class InboxReceipt:
    """The inbox messages that became the units of an enqueue: rows up to ``last_id`` are removed
    from the inbox in the enqueue's transaction, so each message becomes units exactly once.

    With ``shard`` (mapping split over several processes, each owning a shard of the users), the
    enqueue's transaction instead moves that shard's cursor to ``last_id`` and removes the rows
    every shard has consumed (see :mod:`amprelay.store.inbox`)."""

    last_id: int
    shard: int | None = None


@dataclass(slots=True)
class RetryItem:
    id: int
    not_before: float  # unix seconds
    error: str | None = None
    count_attempt: bool = True  # False: resent for another unit's sake (not this unit's failure)


@dataclass(slots=True)
class DeadLetter:
    id: int
    route: UnitRoute
    entry: bytes
    partition: str
    message_id: str
    created_at: float
    dead_at: float
    attempts: int
    reason: str

    @property
    def destination(self) -> str:
        return self.route.destination


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Selects dead letters; every given criterion must hold."""

    destination: str | None = None
    kind: str | None = None  # events | identify | groupidentify | usermap
    reason_contains: str | None = None
    message_id: str | None = None
    partition: str | None = None
    since: float | None = None  # dead_at >= since
    until: float | None = None  # dead_at < until
    ids: tuple[int, ...] | None = None

    def sql_terms(self, param: str, contains: str) -> tuple[list[str], list[Any]]:
        """The filter as SQL terms over ``amprelay_dead_letters d JOIN amprelay_routes r`` and
        their arguments, for a backend whose placeholder is ``param`` (``?``, ``%s``) and whose
        substring test is ``contains`` (``instr``, ``strpos``); ``ids`` is left to the backend."""
        terms: list[str] = []
        args: list[Any] = []
        for column, op, value in (("r.destination", "=", self.destination), ("r.kind", "=", self.kind),
                                  ("d.message_id", "=", self.message_id), ("d.partition", "=", self.partition),
                                  ("d.dead_at", ">=", self.since), ("d.dead_at", "<", self.until)):
            if value is not None:
                terms.append(f"{column} {op} {param}")
                args.append(value)
        if self.reason_contains:
            terms.append(f"{contains}(lower(d.reason), lower({param})) > 0")
            args.append(self.reason_contains)
        return terms, args


@dataclass(slots=True)
class QueueStats:
    depth: int = 0  # units not yet delivered (ready, leased, waiting for retry)
    leased: int = 0
    waiting: int = 0  # waiting for a retry time in the future
    dead_letters: int = 0
    oldest_created_at: float | None = None
    depth_by_destination: dict[str, int] = field(default_factory=dict)
    dead_by_destination: dict[str, int] = field(default_factory=dict)

    def oldest_age(self, now: float) -> float:
        return 0.0 if self.oldest_created_at is None else max(0.0, now - self.oldest_created_at)


RETRY_RUN = 1000  # after a failure, a partition goes out in runs of RETRY_RUN >> 2*attempts (at least 1)


def pick_runs(rows: Iterable[Sequence], max_units: int) -> list[Sequence]:
    """The ordering contract's selection, shared by every backend (pure).

    ``rows`` are ready units of partitions with nothing in flight or waiting, in enqueue order,
    each starting ``(id, route_id, partition, attempts, ...)``. For each partition only the
    leading run of one route is taken (another route's turn comes after that run is done), and a
    partition that failed before goes out in smaller runs. Returns the chosen rows, in order.
    """
    run_route: dict[str, int] = {}
    run_left: dict[str, int] = {}
    switched: set[str] = set()
    picked: list[Sequence] = []
    for row in rows:
        rid, part, attempts = row[1], row[2], row[3]
        if part in switched:
            continue
        prev = run_route.get(part)
        if prev is None:
            run_route[part] = rid
            if attempts:
                run_left[part] = max(1, RETRY_RUN >> (2 * min(attempts, 10)))
        elif prev != rid:
            switched.add(part)
            continue
        left = run_left.get(part)
        if left is not None:
            if left <= 0:
                switched.add(part)
                continue
            run_left[part] = left - 1
        picked.append(row)
        if len(picked) >= max_units:
            break
    return picked


class SettleShortcuts:
    """:meth:`Queue.ack`, :meth:`Queue.retry` and :meth:`Queue.dead_letter` as :meth:`Queue.settle`."""

    def settle(self, ack: Iterable[int] = (), retry: Iterable[RetryItem] = (),
               dead: Iterable[tuple[int, str]] = (), now: float | None = None,
               tokens: Mapping[int, int] | None = None) -> list[int]:
        raise NotImplementedError

    def ack(self, ids: Iterable[int]) -> None:
        self.settle(ack=ids)

    def retry(self, items: Iterable[RetryItem]) -> None:
        self.settle(retry=items)

    def dead_letter(self, items: Iterable[tuple[int, str]], now: float | None = None) -> None:
        self.settle(dead=items, now=now)


@runtime_checkable
class Queue(Protocol):
    """The queue every backend implements. All methods are blocking and thread-safe."""

    def enqueue(self, units: Sequence[NewUnit]) -> list[int]:
        """Store the units durably (one transaction, flushed to disk) and return their ids.
        Nothing is stored if it raises."""
        ...

    def enqueue_with_dead(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                          consumed: InboxReceipt | None = None, claims: MessageClaims | None = None) -> list[int]:
        """Like :meth:`enqueue`, and in the same transaction store ``dead`` (unit, reason) pairs
        straight in the dead-letter store (messages that never became a request), remove the
        ``consumed`` inbox messages (backends without an inbox raise ``ValueError`` for one) and
        apply the messageId dedupe ``claims``. Returns the ids of the units stored."""
        ...

    async def enqueue_with_dead_async(self, units: Sequence[NewUnit], dead: Sequence[tuple[NewUnit, str]],
                                      claims: MessageClaims | None = None) -> list[int]:
        """:meth:`enqueue_with_dead` (no inbox hand-off) for a coroutine: the event loop awaits
        the durable write (the same group commit), no thread waits for it."""
        ...

    def set_api_keys(self, api_keys: ApiKeys | None) -> None:
        """Where the destinations' API keys are read when a stored route is sent (see
        :data:`API_KEY_REF`)."""
        ...

    @property
    def write_error(self) -> str | None:
        """Why the store cannot write now (disk full, database away), or None. Cleared by the
        next write that succeeds."""
        ...

    def size_bytes(self) -> int:
        """Bytes the store occupies (ingest refuses past the configured maximum)."""
        ...

    def lease(self, worker_id: str, max_units: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        """Lease up to ``max_units`` ready units in enqueue order, honouring the ordering
        contract of this module. A lease not acked, retried or dead-lettered within
        ``lease_seconds`` expires and its units become ready again."""
        ...

    def release(self, worker_id: str) -> int:
        """Return every unit leased by ``worker_id`` to the ready state (a restarted worker)."""
        ...

    def ack(self, ids: Iterable[int]) -> None:
        """Amplitude accepted these units: remove them."""
        ...

    def retry(self, items: Iterable[RetryItem]) -> None:
        """Return leased units to the queue, ready again at ``not_before``."""
        ...

    def dead_letter(self, items: Iterable[tuple[int, str]], now: float | None = None) -> None:
        """Move units to the dead-letter store with a reason."""
        ...

    def settle(self, ack: Iterable[int] = (), retry: Iterable[RetryItem] = (),
               dead: Iterable[tuple[int, str]] = (), now: float | None = None,
               tokens: Mapping[int, int] | None = None) -> list[int]:
        """``ack``, ``retry`` and ``dead_letter`` in one transaction (the end of a round).

        ``tokens`` (unit id -> :attr:`Lease.token`) fences the settlement: a unit leased again
        since (its lease expired and another lease took it) is left alone. Returns the ids so
        left alone (stale settlements). Raises if the store cannot write; nothing is settled then
        and the units stay leased to the caller, who may settle them again later."""
        ...

    def list_dead(self, flt: DeadLetterFilter = DeadLetterFilter(), limit: int = 100,
                  offset: int = 0) -> list[DeadLetter]:
        ...

    def count_dead(self, flt: DeadLetterFilter = DeadLetterFilter()) -> int:
        ...

    def requeue_dead(self, flt: DeadLetterFilter = DeadLetterFilter(), now: float | None = None) -> int:
        """Put matching dead letters back into the queue (as new units, age reset); returns
        how many. Rejected ones (never a request) stay."""
        ...

    def purge_dead(self, flt: DeadLetterFilter = DeadLetterFilter()) -> int:
        ...

    def stats(self) -> QueueStats:
        ...

    def close(self) -> None:
        ...
