"""Shared helpers of the server tests."""

from __future__ import annotations

from typing import Any

from amprelay.js.json import dumps
from amprelay.server.ingest import MAX_DEPTH, Rejection, merge_batch_item, too_large


def expand_batch_item(item: Any, shared: dict[str, Any], max_message_bytes: int,
                      max_depth: int = MAX_DEPTH, shallow: bool = False) -> tuple[dict | None, Rejection | None]:
    """The model of one batch item's ingest, written plainly: merged (``merge_batch_item``), then
    measured as sent against ``max_message_bytes``. The ingest app does the same in fewer passes
    (it measures the item as sent only near the limit); the tests check it against this."""
    msg, rejection = merge_batch_item(item, shared, max_depth, shallow)
    if msg is None:
        return None, rejection
    size = len(dumps(item))
    if size > max_message_bytes:
        return None, too_large(size, max_message_bytes)
    return msg, None
