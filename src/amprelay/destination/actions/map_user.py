"""Map User (``mapUser``): Merge two users together that would otherwise have different User IDs tracked in Amplitude."""

from __future__ import annotations

from typing import Any

from amprelay.destination.action import ActionDefinition, Context
from amprelay.destination.actions import _common as _c
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
        description='The User ID to be associated.',
        default={'@path': '$.previousId'},
        has_default=True,
    ),
    'global_user_id': InputField(
        key='global_user_id',
        label='Global User ID',
        type='string',
        description='The Global User ID to associate with the User ID.',
        default={'@path': '$.userId'},
        has_default=True,
    ),
    'min_id_length': InputField(
        key='min_id_length',
        label='Minimum ID Length',
        type='integer',
        description='Amplitude has a default minimum id length (`min_id_length`) of 5 characters for user_id and device_id fields. This field allows the minimum to be overridden to allow shorter id lengths.',
        allow_null=True,
    ),
}


def perform(payload: dict[str, Any], settings: Settings, ctx: Context) -> list[AmplitudeRequest]:
    min_id_length = _c.min_id_length_option(payload)
    form = {"api_key": to_string(settings.api_key), "mapping": to_json_text([payload])}
    if min_id_length is not None:
        form["options"] = to_json_text({"min_id_length": min_id_length})
    return [post_form(endpoint_for("usermap", settings.endpoint), form)]


ACTION = ActionDefinition(
    key="mapUser",
    title="Map User",
    description="Merge two users together that would otherwise have different User IDs tracked in Amplitude.",
    default_subscription='type = "alias"',
    fields=FIELDS,
    perform=perform,
)
