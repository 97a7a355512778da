"""Log Event (``logEvent``): Send an event to Amplitude."""

from __future__ import annotations

from typing import Any

from amprelay.destination.action import Action, Context
from amprelay.destination.actions import _common as _c
from amprelay.destination.actions._fields import (
    ADID,
    ANDROID_ID,
    APP_VERSION,
    CARRIER,
    CITY,
    COUNTRY,
    DEVICE_BRAND,
    DEVICE_ID,
    DEVICE_MANUFACTURER,
    DEVICE_MODEL,
    DMA,
    EVENT_ID,
    EVENT_PROPERTIES,
    EVENT_TYPE,
    GROUPS,
    IDFA,
    IDFV,
    INCLUDE_RAW_USER_AGENT,
    INSERT_ID,
    IP,
    LANGUAGE,
    LIBRARY,
    LIBRARY2,
    LOCATION_LAT,
    LOCATION_LNG,
    MIN_ID_LENGTH,
    OS_NAME,
    OS_VERSION,
    PLATFORM,
    PRICE,
    PRODUCT_ID,
    PRODUCTS,
    QUANTITY,
    REFERRER,
    REGION,
    REVENUE,
    REVENUE_TYPE,
    SESSION_ID,
    TIME,
    USE_BATCH_ENDPOINT,
    USER_AGENT,
    USER_AGENT_DATA,
    USER_AGENT_PARSING,
    USER_ID,
    USER_PROPERTIES,
    UTM_PROPERTIES,
)
from amprelay.destination.request import Request
from amprelay.destination.settings import Settings
from amprelay.fields.model import Field

FIELDS: dict[str, Field] = {
    'user_id': USER_ID,
    'device_id': DEVICE_ID,
    'event_type': EVENT_TYPE,
    'session_id': SESSION_ID,
    'time': TIME,
    'event_properties': EVENT_PROPERTIES,
    'user_properties': USER_PROPERTIES,
    'groups': GROUPS,
    'app_version': APP_VERSION,
    'platform': PLATFORM,
    'os_name': OS_NAME,
    'os_version': OS_VERSION,
    'device_brand': DEVICE_BRAND,
    'device_manufacturer': DEVICE_MANUFACTURER,
    'device_model': DEVICE_MODEL,
    'carrier': CARRIER,
    'country': COUNTRY,
    'region': REGION,
    'city': CITY,
    'dma': DMA,
    'language': LANGUAGE,
    'price': PRICE,
    'quantity': QUANTITY,
    'revenue': REVENUE,
    'productId': PRODUCT_ID,
    'revenueType': REVENUE_TYPE,
    'location_lat': LOCATION_LAT,
    'location_lng': LOCATION_LNG,
    'ip': IP,
    'idfa': IDFA,
    'idfv': IDFV,
    'adid': ADID,
    'android_id': ANDROID_ID,
    'event_id': EVENT_ID,
    'insert_id': INSERT_ID,
    'library': LIBRARY,
    'library2': LIBRARY2,
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
_USER_PROPERTY_SOURCES = ("utm_properties", "referrer")


def perform(payload: dict[str, Any], settings: Settings, ctx: Context) -> list[Request]:
    props = {k: v for k, v in payload.items() if k not in _EXCLUDED}
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


ACTION = Action(
    key="logEvent",
    title="Log Event",
    description="Send an event to Amplitude.",
    default_subscription='type = "track"',
    fields=FIELDS,
    perform=perform,
)
