"""Shared helpers of the delivery tests."""

from __future__ import annotations

from typing import Any

import orjson

from amprelay.destination.request import AmplitudeRequest

NA = "https://api2.amplitude.com"


def events_req(events: list[dict], api_key: str = "key-1", options: dict | None = None,
               path: str = "/2/httpapi") -> AmplitudeRequest:
    body: dict[str, Any] = {"api_key": api_key, "events": events}
    if options is not None:
        body["options"] = options
    return AmplitudeRequest("POST", NA + path, "json", json=body)


def identify_req(ident: dict, api_key: str = "key-1", options: str = "undefined") -> AmplitudeRequest:
    return AmplitudeRequest("POST", NA + "/identify", "form",
               form={"api_key": api_key, "identification": orjson.dumps(ident).decode(), "options": options})


def group_req(ident: list[dict], api_key: str = "key-1", options: str = "undefined") -> AmplitudeRequest:
    return AmplitudeRequest("POST", NA + "/groupidentify", "form",
               form={"api_key": api_key, "identification": orjson.dumps(ident).decode(), "options": options})


def ev(user: str, n: int, **extra: Any) -> dict[str, Any]:
    return {"event_type": "Song Played", "user_id": user, "event_properties": {"n": n}, **extra}
