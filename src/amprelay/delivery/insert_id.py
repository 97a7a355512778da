"""Stable ``insert_id`` for events whose mapping left it empty.

Amplitude deduplicates events by ``insert_id`` (per device/user, over 7 days), so a resend after
a crash or a lost answer is counted once — provided the resend carries the same id. The id is
the message's ``messageId`` followed by 8 hex characters that hash the destination, the
subscription and the request's position among the action's requests (``<messageId>-1a2b3c4d``),
so different subscriptions that fire on one message do not collide, while a message that is
received again (the sender retried) gets the same ids. A ``messageId`` longer than 64
characters is replaced by its hash. Messages without a ``messageId`` get no derived id.

Within one request the first event gets the base id and the event at position ``i >= 1`` gets
``base + "-" + str(i + 1)``: Log Purchase's per-product events (which follow the main event)
get ``-2``, ``-3``, … exactly as the reference derives them from a mapped ``insert_id``.
"""

from __future__ import annotations

import hashlib
from typing import Any

_SUFFIXES: dict[tuple[str, str, int], str] = {}


def _suffix(destination: str, subscription: str, request_index: int) -> str:
    key = (destination, subscription, request_index)
    s = _SUFFIXES.get(key)
    if s is None:
        if len(_SUFFIXES) > 100_000:
            _SUFFIXES.clear()
        material = f"{destination}\x1f{subscription}\x1f{request_index}".encode()
        s = _SUFFIXES[key] = hashlib.blake2b(material, digest_size=4).hexdigest()
    return s


def base_insert_id(destination: str, subscription: str, message_id: str, request_index: int) -> str:
    """A pure function of its arguments: ``<messageId>-<8 hex>``."""
    if len(message_id) > 64:
        message_id = hashlib.blake2b(message_id.encode(), digest_size=16).hexdigest()
    return f"{message_id}-{_suffix(destination, subscription, request_index)}"


def event_insert_id(base: str, event_index: int) -> str:
    return base if event_index == 0 else f"{base}-{event_index + 1}"


def fill_insert_ids(events: list[Any], base: str) -> list[Any]:
    """Events with an empty or missing ``insert_id`` get the stable one (new dicts; mapped ids
    are kept)."""
    out: list[Any] = []
    for i, ev in enumerate(events):
        if type(ev) is dict:
            iid = ev.get("insert_id")
            if iid is None or iid == "":
                ev = {**ev, "insert_id": base if i == 0 else f"{base}-{i + 1}"}
        out.append(ev)
    return out
