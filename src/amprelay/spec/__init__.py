"""Segment spec messages (track, page, screen, identify, group, alias): fields, validation,
and what ingest adds to them."""

from .message import (
    COMMON_FIELDS,
    MESSAGE_TYPES,
    OBJECT_FIELDS,
    TIMESTAMP_FIELDS,
    InvalidMessage,
    check_message,
    validate_message,
)
from .normalize import normalize_message
from .timestamps import format_timestamp, parse_timestamp

__all__ = [
    "COMMON_FIELDS",
    "MESSAGE_TYPES",
    "OBJECT_FIELDS",
    "TIMESTAMP_FIELDS",
    "InvalidMessage",
    "check_message",
    "format_timestamp",
    "normalize_message",
    "parse_timestamp",
    "validate_message",
]
