"""The Amplitude (Actions) destination: settings, the six actions, presets.

``ACTIONS`` maps the reference's action keys to :class:`~amprelay.destination.action.ActionDefinition`
objects; ``PRESETS`` are the quick-setup subscriptions; a destination instance accepts at most
``MAX_SUBSCRIPTIONS`` subscriptions.
"""

from __future__ import annotations

from amprelay.destination.action import ActionDefinition, Context
from amprelay.destination.actions import (
    group_identify_user,
    identify_user,
    log_event,
    log_event_v2,
    log_purchase,
    map_user,
)
from amprelay.destination.presets import PRESETS, Preset
from amprelay.destination.request import AmplitudeRequest
from amprelay.destination.settings import SETTINGS_FIELDS, Settings, SettingsError

DESTINATION_NAME = "Actions Amplitude"
DESTINATION_SLUG = "actions-amplitude"
MAX_SUBSCRIPTIONS = 50

ACTIONS: dict[str, ActionDefinition] = {
    a.key: a
    for a in (
        log_event.ACTION,
        identify_user.ACTION,
        map_user.ACTION,
        group_identify_user.ACTION,
        log_purchase.ACTION,
        log_event_v2.ACTION,
    )
}

__all__ = [
    "ACTIONS",
    "DESTINATION_NAME",
    "DESTINATION_SLUG",
    "MAX_SUBSCRIPTIONS",
    "PRESETS",
    "SETTINGS_FIELDS",
    "ActionDefinition",
    "Context",
    "Preset",
    "AmplitudeRequest",
    "Settings",
    "SettingsError",
]
