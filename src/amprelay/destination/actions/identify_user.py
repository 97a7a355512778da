"""Identify User (``identifyUser``): Set the user ID for a particular device ID or update user properties without sending an event to Amplitude."""

from __future__ import annotations

from typing import Any

from amprelay.destination.action import ActionDefinition, Context
from amprelay.destination.actions import _common as _c
from amprelay.destination.actions._event_fields import INSERT_ID
from amprelay.destination.actions._fields import (
    INCLUDE_RAW_USER_AGENT,
    MIN_ID_LENGTH_V2,
    REFERRER,
    USER_AGENT,
    USER_AGENT_DATA,
    USER_AGENT_PARSING,
    UTM_PROPERTIES,
)
from amprelay.destination.endpoints import endpoint_for
from amprelay.destination.request import AmplitudeRequest, post_form, to_json_text
from amprelay.destination.settings import Settings
from amprelay.fields.model import InputField
from amprelay.js import to_string

FIELDS: dict[str, InputField] = {
    'user_id': InputField(
        key='user_id',
        label='User ID',
        type='string',
        description='A UUID (unique user ID) specified by you. **Note:** If you send a request with a user ID that is not in the Amplitude system yet, then the user tied to that ID will not be marked new until their first event. Required unless device ID is present.',
        allow_null=True,
        default={'@path': '$.userId'},
        has_default=True,
    ),
    'device_id': InputField(
        key='device_id',
        label='Device ID',
        type='string',
        description='A device specific identifier, such as the Identifier for Vendor (IDFV) on iOS. Required unless user ID is present.',
        default={'@if': {'exists': {'@path': '$.context.device.id'}, 'then': {'@path': '$.context.device.id'}, 'else': {'@path': '$.anonymousId'}}},
        has_default=True,
    ),
    'user_properties': InputField(
        key='user_properties',
        label='User Properties',
        type='object',
        description='Additional data tied to the user in Amplitude. Each distinct value will show up as a user segment on the Amplitude dashboard. Object depth may not exceed 40 layers. **Note:** You can store property values in an array and date values are transformed into string values.',
        default={'@path': '$.traits'},
        has_default=True,
    ),
    'groups': InputField(
        key='groups',
        label='Groups',
        type='object',
        description="Groups of users for Amplitude's account-level reporting feature. Note: You can only track up to 5 groups. Any groups past that threshold will not be tracked. **Note:** This feature is only available to Amplitude Enterprise customers who have purchased the Amplitude Accounts add-on.",
    ),
    'app_version': InputField(
        key='app_version',
        label='App Version',
        type='string',
        description='Version of the app the user is on.',
        default={'@path': '$.context.app.version'},
        has_default=True,
    ),
    'platform': InputField(
        key='platform',
        label='Platform',
        type='string',
        description="The platform of the user's device.",
        default={'@path': '$.context.device.type'},
        has_default=True,
    ),
    'os_name': InputField(
        key='os_name',
        label='OS Name',
        type='string',
        description="The mobile operating system or browser of the user's device.",
        default={'@path': '$.context.os.name'},
        has_default=True,
    ),
    'os_version': InputField(
        key='os_version',
        label='OS Version',
        type='string',
        description="The version of the mobile operating system or browser of the user's device.",
        default={'@path': '$.context.os.version'},
        has_default=True,
    ),
    'device_brand': InputField(
        key='device_brand',
        label='Device Brand',
        type='string',
        description="The brand of user's the device.",
        default={'@path': '$.context.device.brand'},
        has_default=True,
    ),
    'device_manufacturer': InputField(
        key='device_manufacturer',
        label='Device Manufacturer',
        type='string',
        description="The manufacturer of the user's device.",
        default={'@path': '$.context.device.manufacturer'},
        has_default=True,
    ),
    'device_model': InputField(
        key='device_model',
        label='Device Model',
        type='string',
        description="The model of the user's device.",
        default={'@path': '$.context.device.model'},
        has_default=True,
    ),
    'carrier': InputField(
        key='carrier',
        label='Carrier',
        type='string',
        description="The user's mobile carrier.",
        default={'@path': '$.context.network.carrier'},
        has_default=True,
    ),
    'country': InputField(
        key='country',
        label='Country',
        type='string',
        description='The country in which the user is located.',
        default={'@path': '$.context.location.country'},
        has_default=True,
    ),
    'region': InputField(
        key='region',
        label='Region',
        type='string',
        description='The geographical region in which the user is located.',
        default={'@path': '$.context.location.region'},
        has_default=True,
    ),
    'city': InputField(
        key='city',
        label='City',
        type='string',
        description='The city in which the user is located.',
        default={'@path': '$.context.location.city'},
        has_default=True,
    ),
    'dma': InputField(
        key='dma',
        label='Designated Market Area',
        type='string',
        description='The Designated Market Area in which the user is located.',
    ),
    'language': InputField(
        key='language',
        label='Language',
        type='string',
        description='Language the user has set on their device or browser.',
        default={'@path': '$.context.locale'},
        has_default=True,
    ),
    'paying': InputField(
        key='paying',
        label='Is Paying',
        type='boolean',
        description='Whether the user is paying or not.',
    ),
    'start_version': InputField(
        key='start_version',
        label='Initial Version',
        type='string',
        description='The version of the app the user was first on.',
    ),
    'insert_id': INSERT_ID,
    'userAgent': USER_AGENT,
    'userAgentParsing': USER_AGENT_PARSING,
    'includeRawUserAgent': INCLUDE_RAW_USER_AGENT,
    'utm_properties': UTM_PROPERTIES,
    'referrer': REFERRER,
    'min_id_length': MIN_ID_LENGTH_V2,
    'library': InputField(
        key='library',
        label='Library',
        type='string',
        description='The name of the library that generated the event.',
        default={'@path': '$.context.library.name'},
        has_default=True,
    ),
    'userAgentData': USER_AGENT_DATA,
}

_EXCLUDED = frozenset(
    (
        "utm_properties",
        "referrer",
        "userAgent",
        "userAgentParsing",
        "includeRawUserAgent",
        "userAgentData",
        "min_id_length",
        "library",
    )
)
_EXCLUDED_KEYS = tuple(_EXCLUDED)  # what perform deletes from its copy of the payload
_USER_PROPERTY_SOURCES = ("utm_properties", "referrer")


def perform(payload: dict[str, Any], settings: Settings, ctx: Context) -> list[AmplitudeRequest]:
    props = _c.without_keys(payload, _EXCLUDED_KEYS)
    _c.normalize_platform(props, payload.get("library"))
    if _c.has_utm_or_referrer(payload):
        # the opposite order of the event actions: UTM and referrer win over user_properties
        props["user_properties"] = _c.merge_user_properties(
            _c.omit(props.get("user_properties") or {}, _USER_PROPERTY_SOURCES),
            _c.convert_utm_properties(payload.get("utm_properties")),
            _c.convert_referrer_property(payload.get("referrer")),
        )
    min_id_length = _c.min_id_length_option(payload)
    options = "undefined" if min_id_length is None else to_json_text({"min_id_length": min_id_length})
    identification = _c.assemble_event(payload, props, "segment")
    form = {
        "api_key": to_string(settings.api_key),
        "identification": to_json_text(identification),
        "options": options,
    }
    return [post_form(endpoint_for("identify", settings.endpoint), form)]


ACTION = ActionDefinition(
    key="identifyUser",
    title="Identify User",
    description=(
        "Set the user ID for a particular device ID or update user properties without sending an event to "
        "Amplitude."
    ),
    default_subscription='type = "identify"',
    fields=FIELDS,
    perform=perform,
)
