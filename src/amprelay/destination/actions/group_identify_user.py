"""Group Identify User (``groupIdentifyUser``): Set or update properties of particular groups. Note that these updates will only affect events going forward."""

from __future__ import annotations

from typing import Any

from amprelay.destination.action import ActionDefinition, Context
from amprelay.destination.actions import _common as _c
from amprelay.destination.actions._event_fields import INSERT_ID
from amprelay.destination.actions._fields import (
    MIN_ID_LENGTH_V2,
)
from amprelay.destination.endpoints import endpoint_for
from amprelay.destination.request import AmplitudeRequest, post_form, to_json_text
from amprelay.destination.settings import Settings
from amprelay.fields.dates import dayjs_utc_value
from amprelay.fields.model import InputField
from amprelay.js import UNDEFINED, to_string, truthy

FIELDS: dict[str, InputField] = {
    'user_id': InputField(
        key='user_id',
        label='User ID',
        type='string',
        description='A UUID (unique user ID) specified by you. **Note:** If you send a request with a user ID that is not in the Amplitude system yet, then the user tied to that ID will not be marked new until their first event. If either user ID or device ID is present, an associate user to group call will be made.',
        allow_null=True,
        default={'@path': '$.userId'},
        has_default=True,
    ),
    'device_id': InputField(
        key='device_id',
        label='Device ID',
        type='string',
        description='A device specific identifier, such as the Identifier for Vendor (IDFV) on iOS. If either user ID or device ID is present, an associate user to group call will be made.',
        default={'@if': {'exists': {'@path': '$.context.device.id'}, 'then': {'@path': '$.context.device.id'}, 'else': {'@path': '$.anonymousId'}}},
        has_default=True,
    ),
    'insert_id': INSERT_ID,
    'time': InputField(
        key='time',
        label='Timestamp',
        type='string',
        description='The timestamp of the event. If time is not sent with the event, it will be set to the request upload time.',
        default={'@path': '$.timestamp'},
        has_default=True,
    ),
    'group_properties': InputField(
        key='group_properties',
        label='Group Properties',
        type='object',
        description='Additional data tied to the group in Amplitude.',
        default={'@path': '$.traits'},
        has_default=True,
    ),
    'group_type': InputField(
        key='group_type',
        label='Group Type',
        type='string',
        description='The type of the group',
        required=True,
    ),
    'group_value': InputField(
        key='group_value',
        label='Group Value',
        type='string',
        description='The value of the group',
        required=True,
    ),
    'min_id_length': MIN_ID_LENGTH_V2,
}


def perform(payload: dict[str, Any], settings: Settings, ctx: Context) -> list[AmplitudeRequest]:
    group_type = payload.get("group_type", UNDEFINED)
    group_value = payload.get("group_value", UNDEFINED)
    association: dict[str, Any] = {to_string(group_type): group_value}
    if group_value is UNDEFINED:
        association = {}
    min_id_length = _c.min_id_length_option(payload)
    options = "undefined" if min_id_length is None else to_json_text({"min_id_length": min_id_length})
    api_key = to_string(settings.api_key)
    requests: list[AmplitudeRequest] = []
    user_id = payload.get("user_id", UNDEFINED)
    device_id = payload.get("device_id", UNDEFINED)
    if truthy(user_id) or truthy(device_id):
        time = payload.get("time", UNDEFINED)
        item: dict[str, Any] = {}
        if device_id is not UNDEFINED:
            item["device_id"] = device_id
        item["groups"] = association
        if "insert_id" in payload:
            item["insert_id"] = payload["insert_id"]
        item["library"] = "segment"
        item["time"] = ctx.now_ms if time is UNDEFINED else dayjs_utc_value(time)
        if user_id is not UNDEFINED:
            item["user_id"] = user_id
        item["user_properties"] = association
        form = {"api_key": api_key, "identification": to_json_text([item]), "options": options}
        requests.append(post_form(endpoint_for("identify", settings.endpoint), form))
    group: dict[str, Any] = {}
    if "group_properties" in payload:
        group["group_properties"] = payload["group_properties"]
    if group_value is not UNDEFINED:
        group["group_value"] = group_value
    if group_type is not UNDEFINED:
        group["group_type"] = group_type
    group["library"] = "segment"
    form = {"api_key": api_key, "identification": to_json_text([group]), "options": options}
    requests.append(post_form(endpoint_for("groupidentify", settings.endpoint), form))
    return requests


ACTION = ActionDefinition(
    key="groupIdentifyUser",
    title="Group Identify User",
    description=(
        "Set or update properties of particular groups. Note that these updates will only affect events going "
        "forward."
    ),
    default_subscription='type = "group"',
    fields=FIELDS,
    perform=perform,
)
