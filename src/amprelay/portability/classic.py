"""Amplitude Classic settings -> Amplitude (Actions) subscriptions, following the product
page's "Amplitude settings mappings" table. Every Classic setting becomes something, or gets a
row saying why it has no equivalent."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from amprelay.destination import ACTIONS
from amprelay.fields import default_mapping

# Classic setting -> the names it goes by in exported settings JSON.
ALIASES: dict[str, tuple[str, ...]] = {
    "apiKey": ("apiKey",),
    "secretKey": ("secretKey",),
    "versionName": ("versionName", "appVersion"),
    "connectionMode": ("connectionMode", "connectionModes"),
    "trackAllPages": ("trackAllPages", "trackAllPagesV2"),
    "trackAllScreens": ("trackAllScreens",),
    "trackCategorizedPages": ("trackCategorizedPages",),
    "trackNamedPages": ("trackNamedPages",),
    "groupTypeTrait": ("groupTypeTrait",),
    "groupValueTrait": ("groupValueTrait",),
    "batchEvents": ("batchEvents",),
    "preferAnonymousIdForDeviceId": ("preferAnonymousIdForDeviceId",),
    "enableAlias": ("enableAlias", "sendAlias"),
    "sendToBatchEndpoint": ("sendToBatchEndpoint", "useBatchEndpoint"),
    "trackReferrer": ("trackReferrer",),
    "trackRevenuePerProduct": ("trackRevenuePerProduct",),
    "trackUtmProperties": ("trackUtmProperties",),
    "useAdvertisingIdForDeviceId": ("useAdvertisingIdForDeviceId",),
    "sendCustomLanguageAndCountry": ("sendCustomLanguageAndCountry", "sendCustomLanguageAndCountryProperties"),
    "traitsToIncrement": ("traitsToIncrement",),
    "traitsToSetOnce": ("traitsToSetOnce",),
    "endpoint": ("endpoint", "residencyServer"),
}
LABELS = {
    "apiKey": "API Key", "secretKey": "Secret Key", "versionName": "Version Name",
    "connectionMode": "Connection Mode", "trackAllPages": "Track All Pages", "trackAllScreens": "Track All Screens",
    "trackCategorizedPages": "Track Categorized Pages", "trackNamedPages": "Track Named Pages",
    "groupTypeTrait": "Group Type Trait", "groupValueTrait": "Group Value Trait", "batchEvents": "Batch Events",
    "preferAnonymousIdForDeviceId": "Prefer Anonymous Device ID", "enableAlias": "Enable Alias",
    "sendToBatchEndpoint": "Send to Batch Endpoint", "trackReferrer": "Track Referrer",
    "trackRevenuePerProduct": "Track Revenue per Product", "trackUtmProperties": "Track UTM Properties",
    "useAdvertisingIdForDeviceId": "Use Advertising ID for Device ID",
    "sendCustomLanguageAndCountry": "Send Custom Language and Country Properties",
    "traitsToIncrement": "Traits to Increment", "traitsToSetOnce": "Traits to Set Once",
    "endpoint": "Endpoint Region",
}

# A mapping value that resolves to nothing (`@if` without `else`): in an ``@merge`` it removes the
# key from the merged object, so the request leaves it out.
_UNSET = {"@if": {"exists": {"@literal": None}, "then": None}}


@dataclass
class MigrationRow:
    setting: str
    value: Any
    became: str


@dataclass
class Migration:
    config: dict[str, Any]
    rows: list[MigrationRow] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _get(settings: dict[str, Any], name: str) -> tuple[bool, Any]:
    for alias in ALIASES[name]:
        if alias in settings:
            return True, settings[alias]
    return False, None


def _truthy(v: Any) -> bool:
    if isinstance(v, dict):  # per-platform toggles, e.g. {"web": true}
        return any(_truthy(x) for x in v.values())
    return bool(v)


def _trait_list(value: Any) -> list[str]:
    """Traits lists come as ["a", "b"] or [{"value": "a"}, ...] in exported settings."""
    out = []
    for item in value or []:
        if isinstance(item, str) and item:
            out.append(item)
        elif isinstance(item, dict):
            v = item.get("value") or item.get("trait") or item.get("key")
            if isinstance(v, str) and v:
                out.append(v)
    return out


def _path(p: str) -> dict[str, str]:
    return {"@path": p}


def _coalesce(*paths: str) -> Any:
    """``coalesce(a, b, c)`` in the mapping language: nested @if exists."""
    expr: Any = _path(paths[-1])
    for p in reversed(paths[:-1]):
        expr = {"@if": {"exists": _path(p), "then": _path(p), "else": expr}}
    return expr


def migrate_classic(settings: dict[str, Any], *, keep_classic_page_names: bool = False) -> Migration:
    if not isinstance(settings, dict):
        raise ValueError("expected the Classic destination's settings as a JSON object")
    if isinstance(settings.get("settings"), dict):
        settings = settings["settings"]
    rows: list[MigrationRow] = []
    known = {alias for names in ALIASES.values() for alias in names}
    unknown = sorted(k for k in settings if k not in known)

    def has(name: str) -> tuple[bool, Any]:
        return _get(settings, name)

    def row(name: str, became: str) -> None:
        present, value = has(name)
        shown = "<secret>" if name in ("apiKey", "secretKey") and value else value
        rows.append(MigrationRow(LABELS[name], shown if present else "(not set)", became))

    v2 = default_mapping(ACTIONS["logEventV2"].fields)
    event_mapping = copy.deepcopy(v2)

    # device id
    _, prefer_anon = has("preferAnonymousIdForDeviceId")
    _, use_adid = has("useAdvertisingIdForDeviceId")
    device_paths = ["$.context.device.id", "$.anonymousId"]
    if _truthy(prefer_anon):
        device_paths = ["$.anonymousId", "$.context.device.id"]
    if _truthy(use_adid):
        device_paths = ["$.context.device.advertisingId", *device_paths]
    device_id = _coalesce(*device_paths)
    event_mapping["device_id"] = device_id
    coalesce_text = "coalesce(" + ", ".join(p[2:] for p in device_paths) + ")"
    row("preferAnonymousIdForDeviceId",
        f"Device ID field: {coalesce_text}" if _truthy(prefer_anon) else "Device ID field keeps the default order")
    row("useAdvertisingIdForDeviceId",
        f"Device ID field: {coalesce_text}" if _truthy(use_adid) else "Device ID field keeps the default order")

    # version name -> app_version
    present, version = has("versionName")
    if present and isinstance(version, str) and version:
        event_mapping["app_version"] = version
        row("versionName", f"App Version field set to {version!r} (default: context.app.version)")
    else:
        row("versionName", "App Version field: context.app.version (the default)")

    # batch endpoint
    _, batch_events = has("batchEvents")
    _, send_batch = has("sendToBatchEndpoint")
    use_batch = _truthy(batch_events) or _truthy(send_batch)
    event_mapping["use_batch_endpoint"] = use_batch
    row("batchEvents", "Use Batch Endpoint = true on event subscriptions" if _truthy(batch_events)
        else "Use Batch Endpoint = false (device-mode batching has no cloud equivalent)")
    row("sendToBatchEndpoint", "Use Batch Endpoint = true on event subscriptions" if _truthy(send_batch)
        else "Use Batch Endpoint = false")

    # referrer and UTM user properties
    _, track_referrer = has("trackReferrer")
    present_utm, track_utm = has("trackUtmProperties")
    if not _truthy(track_referrer):
        event_mapping["setOnce"].pop("initial_referrer", None)
        event_mapping["setAlways"].pop("referrer", None)
    if present_utm and not _truthy(track_utm):
        for k in [k for k in event_mapping["setOnce"] if k.startswith("initial_utm_")]:
            event_mapping["setOnce"].pop(k)
        for k in [k for k in event_mapping["setAlways"] if k.startswith("utm_")]:
            event_mapping["setAlways"].pop(k)
    row("trackReferrer", "Set Once initial_referrer / Set Always referrer from context.page.referrer"
        if _truthy(track_referrer) else "referrer user properties left out")
    row("trackUtmProperties", "Set Once initial_utm_* / Set Always utm_* from context.campaign (default)"
        if (not present_utm or _truthy(track_utm)) else "UTM user properties left out")
    row("sendCustomLanguageAndCountry",
        "Language and Country fields, from context.locale and context.location.country (default)")

    subs: list[dict[str, Any]] = []

    def sub(name: str, trigger: str, action: str, mapping: dict[str, Any]) -> None:
        subs.append({"name": name, "trigger": trigger, "action": action, "mapping": mapping})

    track_map = copy.deepcopy(event_mapping)
    sub("Track Calls", 'type = "track" and event != "Order Completed"', "logEventV2", track_map)
    purchase = default_mapping(ACTIONS["logPurchase"].fields)
    purchase["device_id"] = device_id
    purchase["use_batch_endpoint"] = use_batch
    if "app_version" in event_mapping:
        purchase["app_version"] = event_mapping["app_version"]
    _, per_product = has("trackRevenuePerProduct")
    purchase["trackRevenuePerProduct"] = _truthy(per_product)
    sub("Order Completed Calls", 'type = "track" and event = "Order Completed"', "logPurchase", purchase)
    row("trackRevenuePerProduct", f"Order Completed Calls (Log Purchase): Track Revenue Per Product = "
        f"{str(_truthy(per_product)).lower()}")

    def page_sub(name: str, trigger: str, actions_name: Any, classic_name: Any) -> None:
        m = copy.deepcopy(event_mapping)
        m["event_type"] = classic_name if keep_classic_page_names else actions_name
        sub(name, trigger, "logEventV2", m)

    _, all_pages = has("trackAllPages")
    _, named_pages = has("trackNamedPages")
    _, cat_pages = has("trackCategorizedPages")
    _, all_screens = has("trackAllScreens")
    if _truthy(all_pages):
        page_sub("Page Calls", 'type = "page"', {"@template": "Viewed {{name}}"}, "Loaded a Page")
    row("trackAllPages", ("Page Calls: type = \"page\", event type "
                          + ("'Loaded a Page'" if keep_classic_page_names else "'Viewed {{name}}'"))
        if _truthy(all_pages) else "no subscription for all pages")
    # With Actions' names, a named page is already "Viewed {{name}}" under Page Calls: a second
    # subscription would send it twice (Amplitude keeps both). Classic's names differ ("Loaded a
    # Page", "Viewed Home Page"): Classic sent both, and so does the migration.
    named_covered = _truthy(all_pages) and not keep_classic_page_names
    if _truthy(named_pages) and not named_covered:
        page_sub("Named Page Calls", 'type = "page" and name != null', {"@template": "Viewed {{name}}"},
                 {"@template": "Viewed {{name}} Page"})
    if not _truthy(named_pages):
        row("trackNamedPages", "no subscription for named pages")
    elif named_covered:
        row("trackNamedPages", "covered by Page Calls (Track All Pages): a named page is one 'Viewed {{name}}' "
                               "event, not two")
    else:
        row("trackNamedPages", "Named Page Calls: type = \"page\" and name != null")
    if _truthy(cat_pages):
        page_sub("Categorized Page Calls", 'type = "page" and properties.category != null',
                 {"@template": "Viewed {{properties.category}}"}, {"@template": "Viewed {{properties.category}} Page"})
    row("trackCategorizedPages", "Categorized Page Calls: type = \"page\" and properties.category != null"
        if _truthy(cat_pages) else "no subscription for categorized pages")
    if _truthy(all_screens):
        page_sub("Screen Calls", 'type = "screen"', {"@template": "Viewed {{name}}"}, "Loaded a Screen")
    row("trackAllScreens", "Screen Calls: type = \"screen\"" if _truthy(all_screens) else "no subscription for screens")

    identify = default_mapping(ACTIONS["identifyUser"].fields)
    identify["device_id"] = device_id
    if "app_version" in event_mapping:
        identify["app_version"] = event_mapping["app_version"]
    increments = _trait_list(has("traitsToIncrement")[1])
    set_once = _trait_list(has("traitsToSetOnce")[1])
    if increments or set_once:
        # $set takes the other traits: a trait also in $set would overwrite the counter (and the
        # set-once value) on every identify.
        special = list(dict.fromkeys(increments + set_once))
        props: dict[str, Any] = {"$set": {"@merge": {"direction": "right", "objects": [
            _path("$.traits"), dict.fromkeys(special, _UNSET)]}}}
        if set_once:
            props["$setOnce"] = {t: _path(f"$.traits.{t}") for t in set_once}
        if increments:
            props["$add"] = {t: _path(f"$.traits.{t}") for t in increments}
        identify["user_properties"] = props
    sub("Identify Calls", 'type = "identify"', "identifyUser", identify)
    row("traitsToIncrement", f"Identify Calls: user_properties.$add of {', '.join(increments)} (left out of $set)"
        if increments else "nothing to increment")
    row("traitsToSetOnce", f"Identify Calls: user_properties.$setOnce of {', '.join(set_once)} (left out of $set)"
        if set_once else "nothing to set once")

    _, group_type = has("groupTypeTrait")
    _, group_value = has("groupValueTrait")
    if group_type and group_value:
        group = default_mapping(ACTIONS["groupIdentifyUser"].fields)
        group["device_id"] = device_id
        group["group_type"] = _path(f"$.traits.{group_type}")
        group["group_value"] = _path(f"$.traits.{group_value}")
        sub("Group Calls", 'type = "group"', "groupIdentifyUser", group)
        row("groupTypeTrait", f"Group Calls (Group Identify User): Group Type = traits.{group_type}")
        row("groupValueTrait", f"Group Calls (Group Identify User): Group Value = traits.{group_value}")
    else:
        why = ("no Group Calls subscription: Group Type and Group Value are mandatory in Actions (Classic "
               "fell back to '[Segment] Group'); set both traits to migrate group calls")
        row("groupTypeTrait", why)
        row("groupValueTrait", why)

    _, alias = has("enableAlias")
    if _truthy(alias):
        sub("Alias Calls", 'type = "alias"', "mapUser", default_mapping(ACTIONS["mapUser"].fields))
    row("enableAlias", "Alias Calls (Map User): type = \"alias\"" if _truthy(alias) else "no Map User subscription")

    row("apiKey", "settings.apiKey = ${AMPLITUDE_API_KEY}")
    row("secretKey", "settings.secretKey = ${AMPLITUDE_SECRET_KEY}")
    row("connectionMode", "cloud mode (Actions has no device mode; sessions come from the session plugin)")

    region = settings.get("endpoint") if settings.get("endpoint") in ("north_america", "europe") else "north_america"
    if str(settings.get("residencyServer", "")).lower() == "eu":
        region = "europe"
    row("endpoint", f"settings.endpoint = {region}")
    config = {
        "sources": [{"name": "default", "write_key": "${AMPRELAY_WRITE_KEY}"}],
        "destinations": [{
            "name": "amplitude",
            "settings": {"apiKey": "${AMPLITUDE_API_KEY}", "secretKey": "${AMPLITUDE_SECRET_KEY}", "endpoint": region},
            "presets": False,
            "subscriptions": subs,
        }],
    }
    order = list(ALIASES)
    rows.sort(key=lambda r: order.index(next(k for k, v in LABELS.items() if v == r.setting)))
    return Migration(config=config, rows=rows, unknown=unknown)
