"""Log Event V2 (``logEventV2``): Send an event to Amplitude"""

from __future__ import annotations

from typing import Any

from amprelay.destination.action import ActionDefinition, Context
from amprelay.destination.actions import _common as _c
from amprelay.destination.actions._event_fields import EVENT_FIELDS
from amprelay.destination.actions._fields import (
    INCLUDE_RAW_USER_AGENT,
    MIN_ID_LENGTH_V2,
    PRODUCTS,
    USE_BATCH_ENDPOINT,
    USER_AGENT,
    USER_AGENT_DATA,
)
from amprelay.destination.request import AmplitudeRequest
from amprelay.destination.settings import Settings
from amprelay.fields.model import InputField
from amprelay.js import UNDEFINED, spread

FIELDS: dict[str, InputField] = {
    **EVENT_FIELDS,
    'products': PRODUCTS,
    'setOnce': InputField(
        key='setOnce',
        label='Set Once',
        type='object',
        description='The following fields will only be set as user properties if they do not already have a value.',
        default={'initial_referrer': {'@path': '$.context.page.referrer'}, 'initial_utm_source': {'@path': '$.context.campaign.source'}, 'initial_utm_medium': {'@path': '$.context.campaign.medium'}, 'initial_utm_campaign': {'@path': '$.context.campaign.name'}, 'initial_utm_term': {'@path': '$.context.campaign.term'}, 'initial_utm_content': {'@path': '$.context.campaign.content'}},
        has_default=True,
        properties={
            'initial_referrer': InputField(
                key='initial_referrer',
                label='Initial Referrer',
                type='string',
                description='The referrer of the web request.',
            ),
            'initial_utm_source': InputField(
                key='initial_utm_source',
                label='Initial UTM Source',
                type='string',
            ),
            'initial_utm_medium': InputField(
                key='initial_utm_medium',
                label='Initial UTM Medium',
                type='string',
            ),
            'initial_utm_campaign': InputField(
                key='initial_utm_campaign',
                label='Initial UTM Campaign',
                type='string',
            ),
            'initial_utm_term': InputField(
                key='initial_utm_term',
                label='Initial UTM Term',
                type='string',
            ),
            'initial_utm_content': InputField(
                key='initial_utm_content',
                label='Initial UTM Content',
                type='string',
            ),
        },
        additional_properties=True,
    ),
    'setAlways': InputField(
        key='setAlways',
        label='Set Always',
        type='object',
        description='The following fields will be set as user properties for every event.',
        default={'referrer': {'@path': '$.context.page.referrer'}, 'utm_source': {'@path': '$.context.campaign.source'}, 'utm_medium': {'@path': '$.context.campaign.medium'}, 'utm_campaign': {'@path': '$.context.campaign.name'}, 'utm_term': {'@path': '$.context.campaign.term'}, 'utm_content': {'@path': '$.context.campaign.content'}},
        has_default=True,
        properties={
            'referrer': InputField(
                key='referrer',
                label='Referrer',
                type='string',
            ),
            'utm_source': InputField(
                key='utm_source',
                label='UTM Source',
                type='string',
            ),
            'utm_medium': InputField(
                key='utm_medium',
                label='UTM Medium',
                type='string',
            ),
            'utm_campaign': InputField(
                key='utm_campaign',
                label='UTM Campaign',
                type='string',
            ),
            'utm_term': InputField(
                key='utm_term',
                label='UTM Term',
                type='string',
            ),
            'utm_content': InputField(
                key='utm_content',
                label='UTM Content',
                type='string',
            ),
        },
        additional_properties=True,
    ),
    'add': InputField(
        key='add',
        label='Add',
        type='object',
        description="Increment a user property by a number with add. If the user property doesn't have a value set yet, it's initialized to 0.",
        extra={"defaultObjectUI": 'keyvalue'},
    ),
    'use_batch_endpoint': USE_BATCH_ENDPOINT,
    'userAgent': USER_AGENT,
    'userAgentParsing': InputField(
        key='userAgentParsing',
        label='User Agent Parsing',
        type='boolean',
        description='Enabling this setting will set the Device manufacturer, Device Model and OS Name properties based on the user agent string provided in the userAgent field.',
        default=True,
        has_default=True,
    ),
    'includeRawUserAgent': INCLUDE_RAW_USER_AGENT,
    'min_id_length': MIN_ID_LENGTH_V2,
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
        "min_id_length",
        "library",
        "library2",
        "setOnce",
        "setAlways",
        "add",
    )
)
_EXCLUDED_KEYS = tuple(_EXCLUDED)  # what perform deletes from its copy of the payload
_USER_PROPERTY_OPERATIONS = (("setOnce", "$setOnce"), ("setAlways", "$set"), ("add", "$add"))


def _has_non_empty_value(obj: Any) -> bool:
    """The reference's ``compact``: at least one value ``!== ""``."""
    for value in (obj if type(obj) is dict else spread(obj)).values():
        if value != "":
            return True
    return False


def perform(payload: dict[str, Any], settings: Settings, ctx: Context) -> list[AmplitudeRequest]:
    """The reference's perform: the payload without the keys it reads itself as ``properties``,
    ``platform`` normalised, ``time`` and ``session_id`` as epoch ms, ``setOnce`` / ``setAlways``
    / ``add`` (each with a value other than ``""``) as ``$setOnce`` / ``$set`` / ``$add`` in
    ``user_properties``; the event ``{...parsedUA, ...properties, library}``, one request. The
    properties are set on the event itself (:func:`_c.event_with_properties`): the same keys in
    the same order."""
    event = _c.event_with_properties(payload, _EXCLUDED_KEYS)
    _c.normalize_platform(event, payload.get("library"))
    _c.set_time_and_session(event, payload)
    for source, operation in _USER_PROPERTY_OPERATIONS:
        obj = payload.get(source)
        if obj is not None and (obj or type(obj) is not dict) and _has_non_empty_value(obj):  # obj != {}
            event["user_properties"] = {**spread(event.get("user_properties")), operation: obj}
    library = _c.library_value(payload)
    if library is not UNDEFINED:
        event["library"] = library
    return [_c.event_request(payload, settings, [event])]


ACTION = ActionDefinition(
    key="logEventV2",
    title="Log Event V2",
    description="Send an event to Amplitude",
    default_subscription='type = "track"',
    fields=FIELDS,
    perform=perform,
)
