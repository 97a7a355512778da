"""The destination's presets (the reference's quick-setup subscriptions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amprelay.destination.actions import identify_user, log_event_v2, log_purchase
from amprelay.fields import default_mapping


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    subscribe: str
    action: str
    mapping: dict[str, Any]
    type: str = "automatic"


VIEWED_TEMPLATE = {"@template": "Viewed {{name}}"}

PRESETS: tuple[Preset, ...] = (
    Preset(
        name="Track Calls",
        subscribe='type = "track" and event != "Order Completed"',
        action="logEventV2",
        mapping=default_mapping(log_event_v2.FIELDS),
    ),
    Preset(
        name="Order Completed Calls",
        subscribe='type = "track" and event = "Order Completed"',
        action="logPurchase",
        mapping=default_mapping(log_purchase.FIELDS),
    ),
    Preset(
        name="Page Calls",
        subscribe='type = "page"',
        action="logEventV2",
        mapping={**default_mapping(log_event_v2.FIELDS), "event_type": VIEWED_TEMPLATE},
    ),
    Preset(
        name="Screen Calls",
        subscribe='type = "screen"',
        action="logEventV2",
        mapping={**default_mapping(log_event_v2.FIELDS), "event_type": VIEWED_TEMPLATE},
    ),
    Preset(
        name="Identify Calls",
        subscribe='type = "identify"',
        action="identifyUser",
        mapping=default_mapping(identify_user.FIELDS),
    ),
)
"""Browser Session Tracking (``type = "track" or ...`` -> the ``sessionId`` browser plugin) is not
a server-side action; amprelay serves the plugin separately."""

