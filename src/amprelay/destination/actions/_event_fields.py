"""The fields of the reference's ``event-schema.ts`` (who, what, when, where: the event's own
properties), shared by the event actions; labels, types, defaults and flags as it declares them."""

from __future__ import annotations

from amprelay.fields.model import InputField

USER_ID = InputField(
    key='user_id',
    label='User ID',
    type='string',
    description='A readable ID specified by you. Must have a minimum length of 5 characters. Required unless device ID is present. **Note:** If you send a request with a user ID that is not in the Amplitude system yet, then the user tied to that ID will not be marked new until their first event.',
    allow_null=True,
    default={'@path': '$.userId'},
    has_default=True,
)

DEVICE_ID = InputField(
    key='device_id',
    label='Device ID',
    type='string',
    description='A device-specific identifier, such as the Identifier for Vendor on iOS. Required unless user ID is present. If a device ID is not sent with the event, it will be set to a hashed version of the user ID.',
    default={'@if': {'exists': {'@path': '$.context.device.id'}, 'then': {'@path': '$.context.device.id'}, 'else': {'@path': '$.anonymousId'}}},
    has_default=True,
)

EVENT_TYPE = InputField(
    key='event_type',
    label='Event Type',
    type='string',
    description='A unique identifier for your event.',
    required=True,
    default={'@path': '$.event'},
    has_default=True,
)

SESSION_ID = InputField(
    key='session_id',
    label='Session ID',
    type='datetime',
    description='The start time of the session, necessary if you want to associate events with a particular system. To use automatic Amplitude session tracking in browsers, enable Analytics 2.0 on your connected source.',
    default={'@path': '$.integrations.Actions Amplitude.session_id'},
    has_default=True,
)

TIME = InputField(
    key='time',
    label='Timestamp',
    type='datetime',
    description='The timestamp of the event. If time is not sent with the event, it will be set to the request upload time.',
    default={'@path': '$.timestamp'},
    has_default=True,
)

EVENT_PROPERTIES = InputField(
    key='event_properties',
    label='Event Properties',
    type='object',
    description='An object of key-value pairs that represent additional data to be sent along with the event. You can store property values in an array, but note that Amplitude only supports one-dimensional arrays. Date values are transformed into string values. Object depth may not exceed 40 layers.',
    default={'@path': '$.properties'},
    has_default=True,
)

USER_PROPERTIES = InputField(
    key='user_properties',
    label='User Properties',
    type='object',
    description='An object of key-value pairs that represent additional data tied to the user. You can store property values in an array, but note that Amplitude only supports one-dimensional arrays. Date values are transformed into string values. Object depth may not exceed 40 layers.',
    default={'@path': '$.traits'},
    has_default=True,
)

GROUPS = InputField(
    key='groups',
    label='Groups',
    type='object',
    description='Groups of users for the event as an event-level group. You can only track up to 5 groups. **Note:** This Amplitude feature is only available to Enterprise customers who have purchased the Accounts add-on.',
)

APP_VERSION = InputField(
    key='app_version',
    label='App Version',
    type='string',
    description='The current version of your application.',
    default={'@path': '$.context.app.version'},
    has_default=True,
)

PLATFORM = InputField(
    key='platform',
    label='Platform',
    type='string',
    description='Platform of the device. If using analytics.js to send events from a Browser and no if no Platform value is provided, the value "Web" will be sent.',
    default={'@path': '$.context.device.type'},
    has_default=True,
)

OS_NAME = InputField(
    key='os_name',
    label='OS Name',
    type='string',
    description='The name of the mobile operating system or browser that the user is using.',
    default={'@path': '$.context.os.name'},
    has_default=True,
)

OS_VERSION = InputField(
    key='os_version',
    label='OS Version',
    type='string',
    description='The version of the mobile operating system or browser the user is using.',
    default={'@path': '$.context.os.version'},
    has_default=True,
)

DEVICE_BRAND = InputField(
    key='device_brand',
    label='Device Brand',
    type='string',
    description='The device brand that the user is using.',
    default={'@path': '$.context.device.brand'},
    has_default=True,
)

DEVICE_MANUFACTURER = InputField(
    key='device_manufacturer',
    label='Device Manufacturer',
    type='string',
    description='The device manufacturer that the user is using.',
    default={'@path': '$.context.device.manufacturer'},
    has_default=True,
)

DEVICE_MODEL = InputField(
    key='device_model',
    label='Device Model',
    type='string',
    description='The device model that the user is using.',
    default={'@path': '$.context.device.model'},
    has_default=True,
)

CARRIER = InputField(
    key='carrier',
    label='Carrier',
    type='string',
    description='The carrier that the user is using.',
    default={'@path': '$.context.network.carrier'},
    has_default=True,
)

COUNTRY = InputField(
    key='country',
    label='Country',
    type='string',
    description='The current country of the user.',
    default={'@path': '$.context.location.country'},
    has_default=True,
)

REGION = InputField(
    key='region',
    label='Region',
    type='string',
    description='The current region of the user.',
    default={'@path': '$.context.location.region'},
    has_default=True,
)

CITY = InputField(
    key='city',
    label='City',
    type='string',
    description='The current city of the user.',
    default={'@path': '$.context.location.city'},
    has_default=True,
)

DMA = InputField(
    key='dma',
    label='Designated Market Area',
    type='string',
    description='The current Designated Market Area of the user.',
)

LANGUAGE = InputField(
    key='language',
    label='Language',
    type='string',
    description='The language set by the user.',
    default={'@path': '$.context.locale'},
    has_default=True,
)

PRICE = InputField(
    key='price',
    label='Price',
    type='number',
    description='The price of the item purchased. Required for revenue data if the revenue field is not sent. You can use negative values to indicate refunds.',
    default={'@path': '$.properties.price'},
    has_default=True,
)

QUANTITY = InputField(
    key='quantity',
    label='Quantity',
    type='integer',
    description='The quantity of the item purchased. Defaults to 1 if not specified.',
    default={'@path': '$.properties.quantity'},
    has_default=True,
)

REVENUE = InputField(
    key='revenue',
    label='Revenue',
    type='number',
    description='Revenue = price * quantity. If you send all 3 fields of price, quantity, and revenue, then (price * quantity) will be used as the revenue value. You can use negative values to indicate refunds. **Note:** You will need to explicitly set this if you are using the Amplitude in cloud-mode.',
    default={'@path': '$.properties.revenue'},
    has_default=True,
)

PRODUCT_ID = InputField(
    key='productId',
    label='Product ID',
    type='string',
    description='An identifier for the item purchased. You must send a price and quantity or revenue with this field.',
    default={'@path': '$.properties.productId'},
    has_default=True,
)

REVENUE_TYPE = InputField(
    key='revenueType',
    label='Revenue Type',
    type='string',
    description='The type of revenue for the item purchased. You must send a price and quantity or revenue with this field.',
    default={'@path': '$.properties.revenueType'},
    has_default=True,
)

LOCATION_LAT = InputField(
    key='location_lat',
    label='Latitude',
    type='number',
    description='The current Latitude of the user.',
    default={'@path': '$.context.location.latitude'},
    has_default=True,
)

LOCATION_LNG = InputField(
    key='location_lng',
    label='Longtitude',
    type='number',
    description='The current Longitude of the user.',
    default={'@path': '$.context.location.longitude'},
    has_default=True,
)

IP = InputField(
    key='ip',
    label='IP Address',
    type='string',
    description='The IP address of the user. Use "$remote" to use the IP address on the upload request. Amplitude will use the IP address to reverse lookup a user\'s location (city, country, region, and DMA). Amplitude has the ability to drop the location and IP address from events once it reaches our servers. You can submit a request to Amplitude\'s platform specialist team here to configure this for you.',
    default={'@path': '$.context.ip'},
    has_default=True,
)

IDFA = InputField(
    key='idfa',
    label='Identifier For Advertiser (IDFA)',
    type='string',
    description='Identifier for Advertiser. _(iOS)_',
    default={'@if': {'exists': {'@path': '$.context.device.advertisingId'}, 'then': {'@path': '$.context.device.advertisingId'}, 'else': {'@path': '$.context.device.idfa'}}},
    has_default=True,
)

IDFV = InputField(
    key='idfv',
    label='Identifier For Vendor (IDFV)',
    type='string',
    description='Identifier for Vendor. _(iOS)_',
    default={'@path': '$.context.device.id'},
    has_default=True,
)

ADID = InputField(
    key='adid',
    label='Google Play Services Advertising ID',
    type='string',
    description='Google Play Services advertising ID. _(Android)_',
    default={'@if': {'exists': {'@path': '$.context.device.advertisingId'}, 'then': {'@path': '$.context.device.advertisingId'}, 'else': {'@path': '$.context.device.idfa'}}},
    has_default=True,
)

ANDROID_ID = InputField(
    key='android_id',
    label='Android ID',
    type='string',
    description='Android ID (not the advertising ID). _(Android)_',
)

EVENT_ID = InputField(
    key='event_id',
    label='Event ID',
    type='integer',
    description='An incrementing counter to distinguish events with the same user ID and timestamp from each other. Amplitude recommends you send an event ID, increasing over time, especially if you expect events to occur simultanenously.',
)

INSERT_ID = InputField(
    key='insert_id',
    label='Insert ID',
    type='string',
    description='Amplitude will deduplicate subsequent events sent with this ID we have already seen before within the past 7 days. Amplitude recommends generating a UUID or using some combination of device ID, user ID, event type, event ID, and time.',
)

LIBRARY = InputField(
    key='library',
    label='HIDDEN: Library',
    type='string',
    description='HIDDEN: The name of the library that generated the event.',
    default={'@path': '$.context.library.name'},
    has_default=True,
    unsafe_hidden=True,
)

LIBRARY2 = InputField(
    key='library2',
    label='Library Settings',
    type='object',
    description='Specifies the "library" value to send to Amplitude. Select "Use Mapping" to set the value from the "Library Mapping" field. "Legacy Behaviour" sets the value to "segment".',
    default={'behavior': 'use_mapping', 'mapping': {'@path': '$.context.library.name'}},
    has_default=True,
    properties={
        'behavior': InputField(
            key='behavior',
            label='Behavior',
            type='string',
            description='Configure how to set the library value.',
            choices=({'label': 'Auto', 'value': 'auto'}, {'label': 'Use Mapping', 'value': 'use_mapping'}),
        ),
        'mapping': InputField(
            key='mapping',
            label='Library Mapping',
            type='string',
            description='The library value to send to Amplitude. Only used when the "Behavior" field is set to "Use Mapping".',
        ),
    },
    additional_properties=False,
    extra={"defaultObjectUI": 'keyvalue'},
)

# The fields Log Event, Log Event V2 and Log Purchase share, in the reference's order.
EVENT_FIELDS: dict[str, InputField] = {
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
}
