"""Split an action's requests into queue units (one event / identification / mapping entry).

The unit keeps everything needed to rebuild its request (:class:`amprelay.store.UnitRoute`): the
method, URL, encoding, headers and every body field but the entries, in the order the action
wrote them. :mod:`amprelay.delivery.batcher` puts several units of one route back into one
request of the same shape.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from amprelay.delivery.insert_id import base_insert_id, fill_insert_ids
from amprelay.destination.request import (  # JSON.stringify's numbers
    AmplitudeRequest,
    js_body_bytes,
    to_json_bytes,
)
from amprelay.errors import AmprelayError
from amprelay.js.json import dumps, loads, well_formed
from amprelay.store.base import NewUnit, UnitRoute


def _has_float(items: Any) -> bool:
    for v in items:
        tv = type(v)
        if tv is float:
            return True
        if tv is dict:
            if _has_float(v.values()):
                return True
        elif tv is list and _has_float(v):
            return True
    return False


def entry_bytes(entry: Any) -> bytes:
    """``JSON.stringify(entry)``: orjson writes the same bytes unless a float is involved (or an
    integer beyond 64 bits), where :func:`to_json_bytes` takes over. Checking the types is
    cheaper than scanning the output."""
    if _has_float(entry.values() if type(entry) is dict else (entry,)):
        return to_json_bytes(entry)
    try:  # beyond 2**53 JavaScript holds the nearest double: to_json_bytes writes it so
        return orjson.dumps(entry, option=orjson.OPT_STRICT_INTEGER)
    except TypeError:
        return to_json_bytes(entry)


# The body field that carries the entries, per encoding.
JSON_ENTRIES_FIELD = "events"
FORM_ENTRIES_FIELDS = ("identification", "mapping")


class UnsupportedRequest(AmprelayError, ValueError):
    """A request whose body has no entries field delivery knows how to batch."""


def _id_of(entry: Any, *names: str) -> str | None:
    if not isinstance(entry, dict):
        return None
    for name in names:
        v = entry.get(name)
        if v is not None and v != "":
            return v if isinstance(v, str) else dumps(v).decode()
    return None


def partition_key(kind: str, entry: Any) -> str | None:
    """The user id, else the device id (Amplitude throttles and orders by these)."""
    if kind == "groupidentify":
        gt = _id_of(entry, "group_type")
        gv = _id_of(entry, "group_value")
        return f"group:{gt}:{gv}" if gt is not None or gv is not None else None
    if kind == "usermap":
        return _id_of(entry, "user_id")
    return _id_of(entry, "user_id", "device_id")


def _headers(request: AmplitudeRequest) -> tuple[tuple[str, str], ...]:
    """The request's headers, with its content type when it sets none."""
    headers = [(str(k), str(v)) for k, v in (request.headers or {}).items()]
    if not headers or "content-type" not in {k.lower() for k, _ in headers}:
        ctype = request.content_type
        if ctype:
            headers.append(("Content-Type", str(ctype)))
    return tuple(headers)


_ROUTES: dict[tuple, UnitRoute] = {}
_SIMPLE = frozenset((str, int, float, bool, type(None)))


def _route(destination: str, request: AmplitudeRequest, entries_field: str, single: bool, body: dict[str, Any],
           placeholder: Any) -> UnitRoute:
    """Routes are few and built per request: cache them by a cheap signature of everything but
    the entries."""
    sig: list[Any] = [destination, request.method, request.url, request.encoding, entries_field, single]
    for k, v in body.items():
        if k == entries_field:
            sig.append(k)
        elif type(v) in _SIMPLE:
            sig.append((k, v))
        else:
            sig.append((k, dumps(v)))
    hdrs = request.headers
    if hdrs:
        sig.append(tuple(hdrs.items()))
    sig.append(request.content_type)
    key = tuple(sig)
    route = _ROUTES.get(key)
    if route is None:
        if len(_ROUTES) > 10_000:
            _ROUTES.clear()
        template = tuple((k, placeholder if k == entries_field else v) for k, v in body.items())
        route = _ROUTES[key] = UnitRoute(destination, request.method, request.url, request.encoding, entries_field,
                                     single, template, _headers(request))
    return route


def request_to_units(
    destination: str,
    message_id: str,
    request: AmplitudeRequest,
    *,
    request_index: int = 0,
    subscription: str = "",
    stable_insert_id: bool = True,
    created_at: float | None = None,
    fallback_partition: str | None = None,
) -> list[NewUnit]:
    """Units of one :class:`amprelay.destination.request.AmplitudeRequest`."""
    created_at = time.time() if created_at is None else created_at
    message_id = well_formed(message_id)  # a text column (a lone surrogate can't be stored there)
    if request.encoding == "json":
        body = request.json or {}
        events = body.get(JSON_ENTRIES_FIELD)
        if not isinstance(events, list):
            raise UnsupportedRequest(f"JSON request to {request.url} has no events array")
        if stable_insert_id and message_id:
            events = fill_insert_ids(events, base_insert_id(destination, subscription, message_id, request_index))
        route = _route(destination, request, JSON_ENTRIES_FIELD, False, body, None)
        entries = events
        # the engine's bodies hold numbers as JavaScript does: orjson writes them, no walk for floats
        encode = js_body_bytes if request.js_numbers else entry_bytes
    else:
        form = request.form or {}
        field = next((f for f in FORM_ENTRIES_FIELDS if f in form), None)
        if field is None:
            raise UnsupportedRequest(f"form request to {request.url} has no identification or mapping")
        try:
            value = loads(form[field])
        except ValueError as exc:
            raise UnsupportedRequest(f"{field} of the request to {request.url} is not JSON") from exc
        single = not isinstance(value, list)
        entries = [value] if single else value
        route = _route(destination, request, field, single, {k: str(v) for k, v in form.items()}, "")
        encode = entry_bytes  # parsed from the form's JSON text: its numbers as orjson reads them
    kind = route.kind
    units: list[NewUnit] = []
    for entry in entries:
        part = partition_key(kind, entry) or fallback_partition or f"message:{message_id}"
        units.append(NewUnit(route, encode(entry), well_formed(part), message_id, created_at))
    return units


def requests_to_units(
    destination: str,
    message_id: str,
    requests: Sequence[AmplitudeRequest],
    *,
    subscription: str = "",
    stable_insert_id: bool = True,
    created_at: float | None = None,
) -> list[NewUnit]:
    """Units of all requests one action made for one message, in order. A Group Identify
    entry (no user of its own) shares the partition of the identification sent before it, so
    groupIdentifyUser's two requests stay in order."""
    created_at = time.time() if created_at is None else created_at
    out: list[NewUnit] = []
    last_partition: str | None = None
    for i, req in enumerate(requests):
        units = request_to_units(
            destination, message_id, req, request_index=i, subscription=subscription,
            stable_insert_id=stable_insert_id, created_at=created_at, fallback_partition=None,
        )
        for u in units:
            if u.route.kind == "groupidentify" and last_partition is not None:
                u.partition = last_partition
            last_partition = u.partition
        out.extend(units)
    return out
