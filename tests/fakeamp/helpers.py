from __future__ import annotations

from typing import Any


def event(i: int = 0, **extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"event_type": "Viewed", "user_id": f"user-{i:04d}", "device_id": f"device-{i:04d}"}
    ev.update(extra)
    return ev


def body(events: list[dict[str, Any]], api_key: str = "key-1", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"api_key": api_key, "events": events}
    out.update(extra)
    return out
