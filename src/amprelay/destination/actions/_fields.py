"""InputField declarations the event and identify actions repeat beyond the event schema (products,
the batch endpoint, user agent parsing, UTM and referrer, minimum id length). Labels, types,
defaults and flags as the reference declares them."""

from __future__ import annotations

from amprelay.fields.model import InputField

PRODUCTS = InputField(
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
)

USE_BATCH_ENDPOINT = InputField(
    key='use_batch_endpoint',
    label='Use Batch Endpoint',
    type='boolean',
    description="If true, events are sent to Amplitude's `batch` endpoint rather than their `httpapi` events endpoint. Enabling this setting may help reduce 429s – or throttling errors – from Amplitude. More information about Amplitude's throttling is available in [their docs](https://developers.amplitude.com/docs/batch-event-upload-api#429s-in-depth).",
    default=False,
    has_default=True,
)

USER_AGENT = InputField(
    key='userAgent',
    label='User Agent',
    type='string',
    description='The user agent of the device sending the event.',
    default={'@path': '$.context.userAgent'},
    has_default=True,
)

USER_AGENT_PARSING = InputField(
    key='userAgentParsing',
    label='User Agent Parsing',
    type='boolean',
    description='Enabling this setting will set the Device manufacturer, Device Model and OS Name properties based on the user agent string provided in the userAgent field',
    default=True,
    has_default=True,
)

INCLUDE_RAW_USER_AGENT = InputField(
    key='includeRawUserAgent',
    label='Include Raw User Agent',
    type='boolean',
    description='Enabling this setting will send user_agent based on the raw user agent string provided in the userAgent field',
    default=False,
    has_default=True,
)

UTM_PROPERTIES = InputField(
    key='utm_properties',
    label='UTM Properties',
    type='object',
    description='UTM Tracking Properties',
    default={'utm_source': {'@path': '$.context.campaign.source'}, 'utm_medium': {'@path': '$.context.campaign.medium'}, 'utm_campaign': {'@path': '$.context.campaign.name'}, 'utm_term': {'@path': '$.context.campaign.term'}, 'utm_content': {'@path': '$.context.campaign.content'}},
    has_default=True,
    properties={
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
    additional_properties=False,
)

REFERRER = InputField(
    key='referrer',
    label='Referrer',
    type='string',
    description='The referrer of the web request. Sent to Amplitude as both last touch “referrer” and first touch “initial_referrer”',
    default={'@path': '$.context.page.referrer'},
    has_default=True,
)

MIN_ID_LENGTH = InputField(
    key='min_id_length',
    label='Minimum ID Length',
    type='integer',
    description='Amplitude has a default minimum id lenght of 5 characters for user_id and device_id fields. This field allows the minimum to be overridden to allow shorter id lengths.',
    allow_null=True,
)

USER_AGENT_DATA = InputField(
    key='userAgentData',
    label='User Agent Data',
    type='object',
    description='The user agent data of device sending the event',
    default={'model': {'@path': '$.context.userAgentData.model'}, 'platformVersion': {'@path': '$.context.userAgentData.platformVersion'}},
    has_default=True,
    properties={
        'model': InputField(
            key='model',
            label='Model',
            type='string',
        ),
        'platformVersion': InputField(
            key='platformVersion',
            label='PlatformVersion',
            type='string',
        ),
    },
    additional_properties=False,
)

MIN_ID_LENGTH_V2 = InputField(
    key='min_id_length',
    label='Minimum ID Length',
    type='integer',
    description='Amplitude has a default minimum id length of 5 characters for user_id and device_id fields. This field allows the minimum to be overridden to allow shorter id lengths.',
    allow_null=True,
)
