"""Stable ``insert_id`` for events whose mapping left it empty.

Amplitude deduplicates events by ``insert_id`` (per device/user, over 7 days), so a resend after
a crash or a lost answer is counted once — provided the resend carries the same id. The id is
derived from the message's ``messageId`` with the destination, the subscription and the
request's position among the action's requests, so different subscriptions that fire on one
message do not collide, while a message that is received again (the sender retried) gets the
same ids.

Within one request the first event gets the base id and the event at position ``i >= 1`` gets
``base + "-" + str(i + 1)``: Log Purchase's per-product events (which follow the main event)
get ``-2``, ``-3``, … exactly as the reference derives them from a mapped ``insert_id``.
"""

from __future__ import annotations

import hashlib
from typing import Any


def base_insert_id(destination: str, subscription: str, message_id: str, request_index: int) -> str:
    """32 hex characters, a pure function of its arguments."""
    material = f"{destination}\x1f{subscription}\x1f{request_index}\x1f{message_id}".encode()
    return hashlib.blake2b(material, digest_size=16).hexdigest()


def event_insert_id(base: str, event_index: int) -> str:
    return base if event_index == 0 else f"{base}-{event_index + 1}"


def fill_insert_ids(events: list[Any], base: str) -> list[Any]:
    """Events with an empty or missing ``insert_id`` get the stable one (new dicts; mapped ids
    are kept)."""
    out: list[Any] = []
    for i, ev in enumerate(events):
        if isinstance(ev, dict) and ev.get("insert_id") in (None, ""):
            ev = dict(ev)
            ev["insert_id"] = event_insert_id(base, i)
        out.append(ev)
    return out
