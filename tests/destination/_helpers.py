"""Helpers for the destination tests: run one action's perform on a validated payload."""

from __future__ import annotations

from typing import Any

from amprelay.destination import ACTIONS, Context, Request, Settings

NOW_MS = 1704067200000
SETTINGS = Settings.from_dict({"apiKey": "k-123", "secretKey": "s-456", "endpoint": "north_america"})
EU = Settings.from_dict({"apiKey": "k-123", "secretKey": "s-456", "endpoint": "europe"})


def perform(action: str, payload: dict[str, Any], settings: Settings = SETTINGS) -> list[Request]:
    return ACTIONS[action].perform(payload, settings, Context(NOW_MS))


def one_event(action: str, payload: dict[str, Any], settings: Settings = SETTINGS) -> dict[str, Any]:
    (request,) = perform(action, payload, settings)
    (event,) = request.json["events"]
    return event
