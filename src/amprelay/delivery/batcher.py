"""Group leased units into requests within Amplitude's limits (pure: no I/O).

Units are grouped by route (endpoint, API key, options, headers: everything of the request but
its entries) and cut, in lease order, into batches that respect the API's limits on entries
per request and bytes per body. A batch's body has exactly the shape of the action's request
with several entries in it: JSON bodies keep their keys in the action's order with the entries
spliced in as the stored JSON bytes (no re-encoding); form bodies keep their fields in order,
url-encoded like the browser's ``URLSearchParams`` (each entry encoded once, when its batch is
cut: the encoding of ``[a,b]`` is the encodings of ``a`` and ``b`` joined by ``%2C`` in ``%5B`` ...
``%5D``).

Identify (``/identify``) takes a single identification object or an array: identifyUser sends
one object, so a batch of one is sent exactly as the action made it and a larger batch as an
array. Group Identify and User Mapping always send arrays.

Limits (Amplitude's documentation): HTTP V2 API (``/2/httpapi``) fewer than 2000 events and
under 1 MB per request; Batch API (``/batch``) 2000 events and 20 MB. The Identify, Group
Identify and User Mapping APIs document no batch size, so delivery stays conservative there
(1000 entries, 1 MB). A 413 answer lowers a route's limits at run time (see the worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from amprelay.destination.request import (  # JSON.stringify's number formatting
    form_quote,
    form_quote_bytes,
    to_json_bytes,
)
from amprelay.store.base import Lease, UnitRoute


@dataclass(frozen=True, slots=True)
class Limit:
    max_entries: int
    max_bytes: int


DEFAULT_LIMITS: dict[str, Limit] = {
    "/2/httpapi": Limit(2000, 1_000_000),
    "/batch": Limit(2000, 20_000_000),
    "/identify": Limit(1000, 1_000_000),
    "/groupidentify": Limit(1000, 1_000_000),
    "/usermap": Limit(1000, 1_000_000),
}
FALLBACK_LIMIT = Limit(1000, 1_000_000)


def limit_for(route: UnitRoute, limits: dict[str, Limit] | None = None) -> Limit:
    limits = DEFAULT_LIMITS if limits is None else limits
    return limits.get(route.path, FALLBACK_LIMIT)


@dataclass(slots=True)
class Batch:
    route: UnitRoute
    leases: list[Lease]
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.leases)


class _Shape:
    """How a route's body is put together around its entries."""

    __slots__ = ("encoding", "prefix", "suffix", "single", "content_type", "headers")

    def __init__(self, route: UnitRoute):
        self.encoding = route.encoding
        self.single = route.single
        headers = {k: v for k, v in route.headers}
        lower = {k.lower() for k in headers}
        if route.encoding == "json":
            parts: list[bytes] = []
            split_at = -1
            for k, v in route.template:
                if k == route.entries_field:
                    split_at = len(parts)
                    parts.append(b"")
                else:
                    parts.append(orjson.dumps(k) + b":" + to_json_bytes(v))
            if split_at < 0:
                raise ValueError("route template has no entries field")
            key = orjson.dumps(route.entries_field) + b":"
            before = parts[:split_at]
            after = parts[split_at + 1:]
            self.prefix = b"{" + b"".join(p + b"," for p in before) + key
            self.suffix = b"".join(b"," + p for p in after) + b"}"
            self.content_type = "application/json"  # unless the route's headers say otherwise
        else:
            enc_before: list[str] = []
            enc_after: list[str] = []
            seen = False
            for k, v in route.template:
                if k == route.entries_field:
                    seen = True
                    continue
                (enc_after if seen else enc_before).append(form_quote(k) + "=" + form_quote(str(v)))
            self.prefix = ("".join(p + "&" for p in enc_before) + form_quote(route.entries_field) + "=").encode()
            self.suffix = "".join("&" + p for p in enc_after).encode()
            self.content_type = "application/x-www-form-urlencoded;charset=UTF-8"
        if "content-type" not in lower:
            headers["Content-Type"] = self.content_type
        else:
            self.content_type = next(v for k, v in headers.items() if k.lower() == "content-type")
        self.headers = headers

    def encoded(self, entries: Sequence[bytes]) -> Sequence[bytes]:
        """The entries as they appear in the body (JSON: as stored; form: url-encoded)."""
        if self.encoding == "json":
            return entries
        return [form_quote_bytes(e.decode()) for e in entries]

    def body(self, encoded: Sequence[bytes]) -> bytes:
        """The request body around entries already :meth:`encoded`."""
        if self.encoding == "json":
            return self.prefix + b"[" + b",".join(encoded) + b"]" + self.suffix
        if self.single and len(encoded) == 1:
            return self.prefix + encoded[0] + self.suffix
        return self.prefix + b"%5B" + b"%2C".join(encoded) + b"%5D" + self.suffix

    def fixed_cost(self) -> int:
        return len(self.prefix) + len(self.suffix) + (2 if self.encoding == "json" else 6)


class Batcher:
    """Builds batches; caches each route's body shape."""

    def __init__(self, limits: dict[str, Limit] | None = None):
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._shapes: dict[UnitRoute, _Shape] = {}

    def shape(self, route: UnitRoute) -> _Shape:
        s = self._shapes.get(route)
        if s is None:
            s = self._shapes[route] = _Shape(route)
        return s

    def limit(self, route: UnitRoute) -> Limit:
        return limit_for(route, self.limits)

    def build(self, leases: Sequence[Lease], caps: dict[UnitRoute, Limit] | None = None) -> list[Batch]:
        """Batches in lease order: per route, consecutive units cut at the route's limit (or
        the tighter run-time cap). A unit larger than the byte limit goes alone."""
        by_route: dict[UnitRoute, list[Lease]] = {}
        for u in leases:
            by_route.setdefault(u.route, []).append(u)
        out: list[Batch] = []
        for route, units in by_route.items():
            lim = self.limit(route)
            cap = (caps or {}).get(route)
            max_entries = min(lim.max_entries, cap.max_entries) if cap else lim.max_entries
            max_bytes = min(lim.max_bytes, cap.max_bytes) if cap else lim.max_bytes
            shape = self.shape(route)
            fixed = shape.fixed_cost()
            sep = 1 if shape.encoding == "json" else 3  # "," or "%2C"
            encoded = shape.encoded([u.entry for u in units])
            start, size = 0, fixed
            for i, enc in enumerate(encoded):
                cost = len(enc) + sep
                if i > start and (i - start >= max_entries or size + cost > max_bytes):
                    out.append(self._make(route, shape, units[start:i], encoded[start:i]))
                    start, size = i, fixed
                size += cost
            if start < len(units):
                out.append(self._make(route, shape, units[start:], encoded[start:]))
        return out

    def rebuild(self, batch: Batch, leases: Sequence[Lease]) -> Batch:
        """The same route with other units (a half after a split)."""
        shape = self.shape(batch.route)
        units = list(leases)
        return self._make(batch.route, shape, units, shape.encoded([u.entry for u in units]))

    @staticmethod
    def _make(route: UnitRoute, shape: _Shape, units: list[Lease], encoded: Sequence[bytes]) -> Batch:
        return Batch(route, units, shape.body(encoded), shape.content_type, shape.headers)


def waves(batches: Sequence[Batch]) -> list[list[Batch]]:
    """Order batches so that two batches holding units of one partition are sent one after
    the other (in lease order); batches in one wave share no partition and may go in
    parallel."""
    last_wave: dict[str, int] = {}
    out: list[list[Batch]] = []
    for b in batches:
        w = 0
        parts = {u.partition for u in b.leases}
        for p in parts:
            lw = last_wave.get(p)
            if lw is not None and lw + 1 > w:
                w = lw + 1
        for p in parts:
            last_wave[p] = w
        while len(out) <= w:
            out.append([])
        out[w].append(b)
    return out
