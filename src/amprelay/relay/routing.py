"""Which destinations and subscriptions a message goes to. Pure functions."""

from __future__ import annotations

from typing import Any

DESTINATION_NAME = "Actions Amplitude"
_MISSING = object()


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness (objects and arrays are truthy even when empty)."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == value and value != 0  # NaN and 0 are falsy
    if isinstance(value, str):
        return value != ""
    return True


def destination_enabled(message: dict[str, Any], name: str = DESTINATION_NAME) -> bool:
    """Segment's integrations object: ``{"All": false}`` skips the destination unless its own
    key is truthy (an object such as ``{"session_id": ...}`` counts as enabled);
    ``{"Actions Amplitude": false}`` skips it."""
    integrations = message.get("integrations")
    if not isinstance(integrations, dict):
        return True
    own = integrations.get(name, _MISSING)
    if own is not _MISSING:
        return js_truthy(own)
    return integrations.get("All", True) is not False
