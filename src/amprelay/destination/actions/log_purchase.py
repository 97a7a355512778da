"""Log Purchase (``logPurchase``): Send purchase/revenue events to Amplitude. Sends one main event with the original event type and total revenue, plus additional "Product Purchased" events for each product in the order."""

from __future__ import annotations

from typing import Any

from amprelay.destination.action import ActionDefinition, Context
from amprelay.destination.actions import _common as _c
from amprelay.destination.actions._event_fields import EVENT_FIELDS
from amprelay.destination.actions._fields import (
    INCLUDE_RAW_USER_AGENT,
    MIN_ID_LENGTH,
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
from amprelay.js import UNDEFINED, to_string, truthy

FIELDS: dict[str, InputField] = {
    'trackRevenuePerProduct': InputField(
        key='trackRevenuePerProduct',
        label='Track Revenue Per Product',
        type='boolean',
        description='When enabled, track revenue with each product within the event. When disabled, track total revenue once for the event.',
        default=False,
        has_default=True,
    ),
    **EVENT_FIELDS,
    'products': InputField(
        key='products',
        label='Products',
        type='object',
        description='The list of products purchased.',
        multiple=True,
        default={'@arrayPath': ['$.properties.products', {'price': {'@path': 'price'}, 'revenue': {'@path': 'revenue'}, 'quantity': {'@path': 'quantity'}, 'productId': {'@path': 'productId'}, 'revenueType': {'@path': 'revenueType'}}]},
        has_default=True,
        properties={
            'price': InputField(
                key='price',
                label='Price',
                type='number',
                description='The price of the item purchased. Required for revenue data if the revenue field is not sent. You can use negative values to indicate refunds.',
            ),
            'quantity': InputField(
                key='quantity',
                label='Quantity',
                type='integer',
                description='The quantity of the item purchased. Defaults to 1 if not specified.',
            ),
            'revenue': InputField(
                key='revenue',
                label='Revenue',
                type='number',
                description='Revenue = price * quantity. If you send all 3 fields of price, quantity, and revenue, then (price * quantity) will be used as the revenue value. You can use negative values to indicate refunds.',
                depends_on={'match': 'any', 'conditions': [{'fieldKey': 'price', 'operator': 'is', 'value': ''}, {'fieldKey': 'quantity', 'operator': 'is', 'value': ''}]},
            ),
            'productId': InputField(
                key='productId',
                label='Product ID',
                type='string',
                description='An identifier for the item purchased. You must send a price and quantity or revenue with this field.',
            ),
            'revenueType': InputField(
                key='revenueType',
                label='Revenue Type',
                type='string',
                description='The type of revenue for the item purchased. You must send a price and quantity or revenue with this field.',
            ),
        },
        additional_properties=True,
    ),
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
        "products",
        "trackRevenuePerProduct",
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
PRODUCT_EVENT_TYPE = "Product Purchased"


def perform(payload: dict[str, Any], settings: Settings, ctx: Context) -> list[AmplitudeRequest]:
    products = payload.get("products")
    if products is None:
        products = []
    per_product = truthy(payload.get("trackRevenuePerProduct"))
    props = _c.without_keys(payload, _EXCLUDED_KEYS)
    _c.normalize_platform(props, payload.get("library"))
    _c.set_time_and_session(props, payload)
    if _c.has_utm_or_referrer(payload):
        props["user_properties"] = _c.merge_user_properties(
            _c.convert_utm_properties(payload.get("utm_properties")),
            _c.convert_referrer_property(payload.get("referrer")),
            _c.omit(props.get("user_properties") or {}, _USER_PROPERTY_SOURCES),
        )
    library = _c.library_value(payload)
    main_revenue = {} if (products and per_product) else _c.revenue_properties(payload)
    events = [_c.assemble_event(payload, props, library, main_revenue)]
    insert_id = props.get("insert_id")
    for product in products:
        event = dict(props)
        if per_product:
            event.update(_c.revenue_properties(product) if type(product) is dict else {})
        event["event_properties"] = product
        event["event_type"] = PRODUCT_EVENT_TYPE
        if truthy(insert_id):
            event["insert_id"] = f"{to_string(insert_id)}-{len(events) + 1}"
        else:
            event.pop("insert_id", None)
        if library is UNDEFINED:
            event.pop("library", None)
        else:
            event["library"] = library
        events.append(event)
    return [_c.event_request(payload, settings, events)]


ACTION = ActionDefinition(
    key="logPurchase",
    title="Log Purchase",
    description=(
        'Send purchase/revenue events to Amplitude. Sends one main event with the original event type and '
        'total revenue, plus additional "Product Purchased" events for each product in the order.'
    ),
    default_subscription='type = "track"',
    fields=FIELDS,
    perform=perform,
)
