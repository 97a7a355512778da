"""The Segment spec message: track, page, screen, identify, group, alias.

Messages stay plain dicts (the JSON object as received); this module only knows their fields and
checks them. `validate_message` lists every problem it finds, each naming the field, so an ingest API
can answer exactly what is wrong. Keys it does not know are left alone.
"""

from __future__ import annotations

from typing import Any

from amprelay.errors import AmprelayError

__all__ = [
    "COMMON_FIELDS",
    "InvalidMessage",
    "MESSAGE_TYPES",
    "OBJECT_FIELDS",
    "TIMESTAMP_FIELDS",
    "check_message",
    "validate_message",
]

MESSAGE_TYPES: tuple[str, ...] = ("track", "page", "screen", "identify", "group", "alias")

#: Fields every message may carry.
COMMON_FIELDS: tuple[str, ...] = (
    "messageId", "type", "userId", "anonymousId", "timestamp", "sentAt", "receivedAt",
    "originalTimestamp", "context", "integrations",
)
#: Fields that must be JSON objects when present (null is treated as absent).
OBJECT_FIELDS: tuple[str, ...] = ("context", "integrations", "properties", "traits")
#: Date-time fields. Any value is taken (server libraries send epoch numbers, digit strings, every
#: ISO-8601 variant): ingest keeps it as sent, corrects clock skew only when it parses, and the
#: destination reads it as the reference does.
TIMESTAMP_FIELDS: tuple[str, ...] = ("timestamp", "sentAt", "receivedAt", "originalTimestamp")
#: Fields that must be strings when present.
STRING_FIELDS: tuple[str, ...] = ("messageId", "event", "name", "category")
#: Identifier fields: strings, or numbers (Segment's libraries send numeric ids as they are).
ID_FIELDS: tuple[str, ...] = ("userId", "anonymousId", "groupId", "previousId")


class InvalidMessage(AmprelayError, ValueError):
    """A message that breaks the spec; `problems` lists what is wrong, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) if self.problems else "invalid message")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _present_id(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip() != ""
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_message(msg: Any) -> list[str]:
    """Every problem with `msg` as a Segment spec message; an empty list means valid."""
    if not isinstance(msg, dict):
        return [f"the message must be a JSON object, not {_json_type(msg)}"]
    problems: list[str] = []

    typ = msg.get("type")
    if "type" not in msg or typ is None:
        problems.append(f"'type' is missing; it must be one of: {', '.join(MESSAGE_TYPES)}")
    elif not isinstance(typ, str):
        problems.append(f"'type' must be a string, not {_json_type(typ)}")
    elif typ not in MESSAGE_TYPES:
        problems.append(f"'type' {typ!r} is not a message type; it must be one of: {', '.join(MESSAGE_TYPES)}")

    for key in STRING_FIELDS:
        value = msg.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"'{key}' must be a string, not {_json_type(value)}")
    for key in ID_FIELDS:
        value = msg.get(key)
        if value is not None and not (isinstance(value, str) or _present_id(value)):
            problems.append(f"'{key}' must be a string, not {_json_type(value)}")
    for key in OBJECT_FIELDS:
        value = msg.get(key)
        if value is not None and not isinstance(value, dict):
            problems.append(f"'{key}' must be an object, not {_json_type(value)}")
    if typ == "track":
        event = msg.get("event")
        if not isinstance(event, str) or event == "":
            if event is None:
                problems.append("a track message needs 'event' (the name of the action), and it is missing")
            elif isinstance(event, str):
                problems.append("a track message needs a non-empty 'event'")
            # a non-string event was reported above
    elif typ == "alias":
        if not _present_id(msg.get("previousId")):
            problems.append("an alias message needs 'previousId' (the user's previous id)")
    elif typ == "group":
        if not _present_id(msg.get("groupId")):
            problems.append("a group message needs 'groupId'")

    if not _present_id(msg.get("userId")) and not _present_id(msg.get("anonymousId")):
        problems.append("the message needs a 'userId' or an 'anonymousId'")
    return problems


def check_message(msg: Any) -> dict:
    """Return `msg` if it is valid, else raise InvalidMessage listing its problems."""
    problems = validate_message(msg)
    if problems:
        raise InvalidMessage(problems)
    return msg
