"""The PostgreSQL messageId dedupe rows (``amprelay_dedupe``): a message's fixed-width key and
the claim of a request's messages, in the transaction that stores their units."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

import psycopg

__all__ = ["claim_keys", "dedupe_key"]


def dedupe_key(source: str, message_id: str) -> tuple[int, bytes]:
    """A messageId's row in ``amprelay_dedupe``: its key (the first 8 bytes of the MD5 of the
    message, as a signed bigint) and the message (the source's length, the source, the
    messageId), which tells a duplicate from a collision. Migration 8 computes the same in SQL."""
    s = source.encode("utf-8", "surrogatepass")
    message = len(s).to_bytes(4, "big") + s + message_id.encode("utf-8", "surrogatepass")
    return _first_int8(hashlib.md5(message, usedforsecurity=False).digest())[0], message


_first_int8 = struct.Struct(">q").unpack_from


def claim_keys(c: psycopg.Connection, rows: list[tuple[int, bytes]], now: float, cutoff: float) -> Iterable[int]:
    """Record the messages ``rows`` (key, message; in key order) as seen at ``now``; returns the
    keys claimed: new, seen before ``cutoff`` only, or recorded for another message (a collision,
    whose record is taken over: at worst that one is resent once). A key another relay's open
    transaction is inserting is waited for."""
    return [k for (k,) in c.execute(
        "INSERT INTO amprelay_dedupe AS d (key, message, seen_at) "
        "SELECT k, m, %s FROM unnest(%b::bigint[], %b::bytea[]) AS t(k, m) ORDER BY k "
        "ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at, message = excluded.message "
        "WHERE d.seen_at < %s OR d.message <> excluded.message RETURNING d.key",
        (now, [k for k, _ in rows], [m for _, m in rows], cutoff)).fetchall()]
