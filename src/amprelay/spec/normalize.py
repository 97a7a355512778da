"""What ingest adds to an accepted message, as Segment's API does: a messageId when there is
none, receivedAt, originalTimestamp, and the clock-skew correction of timestamp from sentAt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from .timestamps import epoch_us, format_epoch_us, format_timestamp, timestamp_us

__all__ = ["normalize_message"]


def normalize_message(msg: dict[str, Any], received_at: datetime, sent_at: datetime | None = None,
                      received_text: str | None = None) -> dict[str, Any]:
    """Complete ``msg`` (in place; returned for convenience).

    - ``messageId``: kept when present, else a new ``amprelay-<uuid4>``.
    - ``receivedAt``: the time the relay received the request.
    - ``originalTimestamp``: the client's timestamp as sent (``timestamp``, when the client did
      not send ``originalTimestamp`` itself).
    - ``timestamp``: Segment's clock-skew correction ``receivedAt - (sentAt - originalTimestamp)``
      when the client sent ``sentAt`` and both parse as ISO-8601; otherwise the client's timestamp
      is kept as sent (a number, a digit string, any text: the destination reads it as the
      reference does); with no timestamp at all it is ``receivedAt``.

    ``received_text`` is ``format_timestamp(received_at)`` when the caller has it already (one per
    request, not one per message).
    """
    mid = msg.get("messageId")
    if not isinstance(mid, str) or not mid:
        msg["messageId"] = f"amprelay-{uuid.uuid4()}"
    if received_text is None:
        received_text = format_timestamp(received_at)
    msg["receivedAt"] = received_text

    # The moments as µs since the epoch (memoised per text: a batch's messages share a sentAt).
    sent_us = epoch_us(sent_at) if sent_at is not None else timestamp_us(msg.get("sentAt"))
    client = msg.get("timestamp")
    original_value = msg.get("originalTimestamp")
    if original_value is None and client is not None:
        original_value = msg["originalTimestamp"] = client
    original_us = timestamp_us(original_value)

    if original_us is not None and sent_us is not None:
        # OverflowError for a moment outside datetime's range, as the datetime arithmetic raised
        msg["timestamp"] = format_epoch_us(epoch_us(received_at) - (sent_us - original_us))
    elif client is None:
        msg["timestamp"] = format_epoch_us(original_us) if original_us is not None else received_text
    return msg
