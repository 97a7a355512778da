"""Behaviour the reference's actions share: platform normalisation, time and session id
conversion, user property merging (UTM, referrer), user-agent fields, library, revenue, and
the event-API request. Each function mirrors one piece of the reference's TypeScript,
including its JavaScript semantics (truthiness, key order, ``??``)."""

from __future__ import annotations

import re
from typing import Any

from amprelay.destination.endpoints import ENDPOINTS, endpoint_for
from amprelay.destination.request import AmplitudeRequest, post_json
from amprelay.destination.settings import Settings
from amprelay.destination.useragent import parse_user_agent_properties
from amprelay.fields.dates import dayjs_utc_value
from amprelay.fields.jsdate import iso_ms_z
from amprelay.js import MAX_SAFE_INTEGER, UNDEFINED, js_number, round_half_up, spread, truthy, with_key_order

REVENUE_KEYS = ("revenue", "price", "productId", "quantity", "revenueType")
UA_KEYS = ("os_name", "os_version", "device_manufacturer", "device_model", "device_type")

_IOS = re.compile("ios", re.IGNORECASE | re.ASCII)
_ANDROID = re.compile("android", re.IGNORECASE | re.ASCII)
_DIGITS = re.compile("[0-9]+")
# platforms the two replacements leave as they are (the common ones: no regex needed)
_PLATFORMS_AS_THEY_ARE = frozenset(("iOS", "Android", "Web", "web", "server"))
_MAX_TIME = 8_640_000_000_000_000  # the ECMAScript time value range
_NORMALIZED_PLATFORMS: dict[str, str] = {}  # platform -> the two replacements' result ("ios" -> "iOS")


def normalize_platform(props: dict[str, Any], library: Any) -> None:
    """``platform.replace(/ios/i,'iOS').replace(/android/i,'Android')`` (first match only), and
    ``"Web"`` for an empty platform when the hidden ``library`` is exactly ``analytics.js``."""
    platform = props.get("platform")
    if type(platform) is str and platform and platform not in _PLATFORMS_AS_THEY_ARE:
        normalized = _NORMALIZED_PLATFORMS.get(platform)
        if normalized is None:
            normalized = _ANDROID.sub("Android", _IOS.sub("iOS", platform, 1), 1)
            if len(_NORMALIZED_PLATFORMS) < 1024:  # a device's platform: a few values in practice
                _NORMALIZED_PLATFORMS[platform] = normalized
        props["platform"] = normalized
    if library == "analytics.js" and not truthy(props.get("platform")):
        props["platform"] = "Web"


def format_session_id(session_id: Any) -> int | float:
    """The reference's ``formatSessionId``: a string of digits is ``Number(str)``, anything else
    ``dayjs.utc(x).valueOf()``."""
    if type(session_id) is str and _DIGITS.fullmatch(session_id):
        n = int(session_id)
        return n if n <= MAX_SAFE_INTEGER else js_number(float(session_id))
    return dayjs_utc_value(session_id)


def set_time_and_session(props: dict[str, Any], payload: dict[str, Any]) -> None:
    """``time`` and ``session_id`` as epoch ms, set when truthy and dayjs-valid
    (``dayjs.utc(x).isValid()`` is "its value is not NaN": one parse each)."""
    time = payload.get("time")
    if type(time) is str:  # the common case (truthy: not "")
        if time:
            value = iso_ms_z(time)  # dayjs_utc_value's first step (what validation read already)
            if value is None:
                value = dayjs_utc_value(time)
            if value == value:
                props["time"] = value
    elif time is not None and time != 0 and time is not False:
        value = dayjs_utc_value(time)
        if value == value:
            props["time"] = value
    session_id = payload.get("session_id")
    if type(session_id) is int and session_id != 0 and -_MAX_TIME <= session_id <= _MAX_TIME:
        props["session_id"] = session_id  # the common case: already epoch ms
    elif session_id is not None and session_id != "" and session_id != 0 and session_id is not False:
        value = dayjs_utc_value(session_id)
        if value == value:
            props["session_id"] = format_session_id(session_id) if type(session_id) is str else value


def convert_utm_properties(utm_properties: Any) -> dict[str, Any]:
    """``{$set: {utm_x}, $setOnce: {initial_utm_x}}`` (empty object when there are none)."""
    if not truthy(utm_properties):
        return {}
    set_: dict[str, Any] = {}
    set_once: dict[str, Any] = {}
    for key, value in spread(utm_properties).items():
        set_[key] = value
        set_once[f"initial_{key}"] = value
    return {"$set": set_, "$setOnce": set_once}


def convert_referrer_property(referrer: Any) -> dict[str, Any]:
    if not truthy(referrer):
        return {}
    return {"$set": {"referrer": referrer}, "$setOnce": {"initial_referrer": referrer}}


def merge_user_properties(*properties: dict[str, Any]) -> dict[str, Any]:
    """Later objects win; ``$set`` and ``$setOnce`` are merged one level deep."""
    prev: dict[str, Any] = {}
    for current in properties:
        if not current:  # merging {} changes nothing: prev is {} or already a merge's result
            continue
        set_before, set_now = prev.get("$set"), current.get("$set")
        once_before, once_now = prev.get("$setOnce"), current.get("$setOnce")
        merged = with_key_order({**prev, **current})
        if (set_before is not None and truthy(set_before)) or (set_now is not None and truthy(set_now)):
            merged["$set"] = with_key_order({**spread(set_before), **spread(set_now)})
        if (once_before is not None and truthy(once_before)) or (once_now is not None and truthy(once_now)):
            merged["$setOnce"] = with_key_order({**spread(once_before), **spread(once_now)})
        prev = merged
    return prev


def omit(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in spread(obj).items() if k not in keys}


def has_utm_or_referrer(payload: dict[str, Any]) -> bool:
    """``Object.keys(utm_properties ?? {}).length || referrer``."""
    utm = payload.get("utm_properties")
    return bool(utm is not None and spread(utm)) or truthy(payload.get("referrer"))


def library_value(payload: dict[str, Any]) -> Any:
    """``library2?.behavior === 'use_mapping' ? library2.mapping : 'segment'``."""
    library2 = payload.get("library2")
    if type(library2) is dict and library2.get("behavior") == "use_mapping":
        return library2.get("mapping", UNDEFINED)
    return "segment"


def user_agent_fields(payload: dict[str, Any], present: Any) -> dict[str, Any]:
    """The head of the reference's event, ``{...parsedUA, ...user_agent?}``: the parsed user-agent
    fields (``userAgentParsing``), then ``user_agent`` (``includeRawUserAgent``). A user-agent key
    without a value but in ``present`` (the properties spread after it) gets a placeholder: in
    the JavaScript spread its position is kept for the mapped value that overwrites it."""
    event: dict[str, Any] = {}
    parsing = payload.get("userAgentParsing")
    if parsing is True or (parsing is not None and parsing is not False and truthy(parsing)):
        user_agent = payload.get("userAgent")
        if type(user_agent) is str and user_agent or (user_agent is not None and truthy(user_agent)):
            parsed = parse_user_agent_properties(user_agent, payload.get("userAgentData"))
            if len(parsed) == len(UA_KEYS):
                event = parsed  # a new object, every key with a value and in UA_KEYS' order
            else:
                for key in UA_KEYS:
                    value = parsed.get(key, UNDEFINED)
                    if value is not UNDEFINED:
                        event[key] = value
                    elif key in present:
                        event[key] = None  # position only: overwritten by the properties
    raw = payload.get("includeRawUserAgent")
    if raw is True or (raw is not None and raw is not False and truthy(raw)):
        if "userAgent" in payload:
            event["user_agent"] = payload["userAgent"]
    return event


def assemble_event(payload: dict[str, Any], props: dict[str, Any], library: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{...parsedUA, ...user_agent?, ...properties, ...extra, library}`` without undefined
    values, keys in the reference's order. (An undefined user-agent key still fixes the position of
    the mapped value that overrides it, as in the JavaScript spread.)"""
    event = user_agent_fields(payload, props)
    event.update(props)
    if extra:
        event.update(extra)
    if library is not UNDEFINED:
        event["library"] = library
    return event


def without_keys(payload: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``payload`` without ``keys``, its other keys in its order (a copy with those keys deleted:
    cheaper than building the object key by key)."""
    out = payload.copy()
    for key in keys:
        if key in out:
            del out[key]
    return out


def event_with_properties(payload: dict[str, Any], excluded: tuple[str, ...]) -> dict[str, Any]:
    """``{...parsedUA, ...user_agent?, ...properties}`` with ``properties`` the payload without
    the ``excluded`` keys (those the action reads itself). What :func:`assemble_event` starts
    with, as one object the action then sets its own keys on: none of the user-agent keys is
    excluded, so a key set on this object afterwards goes where setting it on ``properties``
    before the spread puts it (the actions set ``platform``, ``time``, ``session_id``,
    ``user_properties``, then ``library``, none of them a user-agent key)."""
    head = user_agent_fields(payload, payload)  # a user-agent key is in properties iff in payload
    props = without_keys(payload, excluded)
    if head:
        head.update(props)
        return head
    return props


def is_number(value: Any) -> bool:
    t = type(value)
    return t is int or t is float


def revenue_properties(source: dict[str, Any]) -> dict[str, Any]:
    """The reference's ``getRevenueProperties``: ``price * quantity`` when both are numbers,
    else ``revenue``; nothing at all when that is falsy."""
    revenue = source.get("revenue", UNDEFINED)
    quantity = source.get("quantity", UNDEFINED)
    price = source.get("price", UNDEFINED)
    quantity_is_number = is_number(quantity)
    if quantity_is_number and is_number(price):
        revenue = quantity * price
        if type(revenue) is int and not -MAX_SAFE_INTEGER <= revenue <= MAX_SAFE_INTEGER:
            revenue = float(quantity) * float(price)
        if type(revenue) is float:  # as JSON.stringify writes it (2 * 0.5 is 1)
            revenue = js_number(revenue)
    if not truthy(revenue):
        return {}
    out: dict[str, Any] = {"revenue": revenue}
    revenue_type = source.get("revenueType")
    out["revenueType"] = "Purchase" if revenue_type is None else revenue_type
    if quantity_is_number:
        out["quantity"] = round_half_up(quantity)
    if price is not UNDEFINED:
        out["price"] = price
    product_id = source.get("productId", UNDEFINED)
    if product_id is not UNDEFINED:
        out["productId"] = product_id
    return out


def min_id_length_option(payload: dict[str, Any]) -> Any:
    """``min_id_length`` when it is truthy and > 0, else None."""
    value = payload.get("min_id_length")
    if value is not None and is_number(value) and value > 0:
        return value
    return None


def event_request(payload: dict[str, Any], settings: Settings, events: list[dict[str, Any]]) -> AmplitudeRequest:
    """``POST {api_key, events, options?}`` to httpapi, or to batch when ``use_batch_endpoint``."""
    batch = payload.get("use_batch_endpoint")
    kind = "httpapi" if batch is False or batch is None else "batch" if batch is True or truthy(batch) else "httpapi"
    body: dict[str, Any] = {}
    if settings.api_key is not UNDEFINED:
        body["api_key"] = settings.api_key
    body["events"] = events
    min_id_length = payload.get("min_id_length")
    if min_id_length is not None:  # min_id_length_option, inline: most payloads have none
        min_id_length = min_id_length_option(payload)
        if min_id_length is not None:
            body["options"] = {"min_id_length": min_id_length}
    region = settings.endpoint
    url = ENDPOINTS[kind].get(region) if type(region) is str else None  # endpoint_for, inline
    return post_json(endpoint_for(kind, region) if url is None else url, body)
