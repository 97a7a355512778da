"""Log Event (``logEvent``): Send an event to Amplitude."""

from __future__ import annotations

from typing import Any

from amprelay.destination.action import ActionDefinition, Context
from amprelay.destination.actions import _common as _c
from amprelay.destination.actions._event_fields import EVENT_FIELDS
from amprelay.destination.actions._fields import (
    INCLUDE_RAW_USER_AGENT,
    MIN_ID_LENGTH,
    PRODUCTS,
    REFERRER,
    USE_BATCH_ENDPOINT,
    USER_AGENT,
    USER_AGENT_DATA,
    USER_AGENT_PARSING,
    UTM_PROPERTIES,
)
from amprelay.destination.request import AmplitudeRequest
from amprelay.destination.settings import Settings
from amprelay.fields.model import InputField

FIELDS: dict[str, InputField] = {
    **EVENT_FIELDS,
    'products': PRODUCTS,
    'use_batch_endpoint': USE_BATCH_ENDPOINT,
    'userAgent': USER_AGENT,
    'userAgentParsing': USER_AGENT_PARSING,
    'includeRawUserAgent': INCLUDE_RAW_USER_AGENT,
    'utm_properties': UTM_PROPERTIES,
    'referrer': REFERRER,
    'min_id_length': MIN_ID_LENGTH,
    'userAgentData': USER_AGENT_DATA,
}

_EXCLUDED = frozenset(
    (
        *_c.REVENUE_KEYS,
        "time",
        "session_id",
        "userAgent",
        "userAgentParsing",
        "includeRawUserAgent",
        "userAgentData",
        "utm_properties",
        "referrer",
        "min_id_length",
        "library",
        "library2",
    )
)
_EXCLUDED_KEYS = tuple(_EXCLUDED)  # what perform deletes from its copy of the payload
_USER_PROPERTY_SOURCES = ("utm_properties", "referrer")


def perform(payload: dict[str, Any], settings: Settings, ctx: Context) -> list[AmplitudeRequest]:
    props = _c.without_keys(payload, _EXCLUDED_KEYS)
    _c.normalize_platform(props, payload.get("library"))
    _c.set_time_and_session(props, payload)
    if _c.has_utm_or_referrer(payload):
        props["user_properties"] = _c.merge_user_properties(
            _c.convert_utm_properties(payload.get("utm_properties")),
            _c.convert_referrer_property(payload.get("referrer")),
            _c.omit(props.get("user_properties") or {}, _USER_PROPERTY_SOURCES),
        )
    event = _c.assemble_event(payload, props, _c.library_value(payload))
    return [_c.event_request(payload, settings, [event])]


ACTION = ActionDefinition(
    key="logEvent",
    title="Log Event",
    description="Send an event to Amplitude.",
    default_subscription='type = "track"',
    fields=FIELDS,
    perform=perform,
)
