"""Helpers for the destination tests: run an action through the whole pipeline (mapping,
validation, perform) or perform alone on a validated payload."""

from __future__ import annotations

from typing import Any

from amprelay.destination import ACTIONS, AmplitudeRequest, Context, Settings
from amprelay.engine import CompiledAction

NOW_MS = 1704067200000
SETTINGS = Settings.from_dict({"apiKey": "k-123", "secretKey": "s-456", "endpoint": "north_america"})
EU = Settings.from_dict({"apiKey": "k-123", "secretKey": "s-456", "endpoint": "europe"})
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)
CHROME_WINDOWS_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def perform(action: str, payload: dict[str, Any], settings: Settings = SETTINGS) -> list[AmplitudeRequest]:
    return ACTIONS[action].perform(payload, settings, Context(NOW_MS))


def run(action: str, event: dict[str, Any], mapping: dict[str, Any] | None = None, settings: Settings = SETTINGS,
        overrides: dict[str, Any] | None = None) -> list[AmplitudeRequest]:
    """The action's default mapping (or ``mapping``), with ``overrides`` merged over it."""
    if overrides is not None:
        base = dict(mapping) if mapping is not None else {
            k: f.default for k, f in ACTIONS[action].fields.items() if f.has_default
        }
        base.update(overrides)
        mapping = base
    return CompiledAction(action, mapping).run(event, settings, NOW_MS)


def events_of(requests: list[AmplitudeRequest]) -> list[dict[str, Any]]:
    (request,) = requests
    return request.json["events"]


def track(**extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "event": "Song Played",
        "userId": "user-1234",
        "anonymousId": "anon-1234",
        "timestamp": "2021-08-17T15:21:15.449Z",
        "properties": {"song": "x"},
        "context": {},
    }
    event.update(extra)
    return event
