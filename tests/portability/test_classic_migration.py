"""One test per Amplitude Classic setting: the generated subscription and what `preview` sends
for a representative event."""

import subprocess
import sys

import orjson
import pytest
import yaml

from amprelay.config import parse_config
from amprelay.destination import Settings
from amprelay.engine import Subscription, compile_subscription
from amprelay.portability.classic import migrate_classic

ENV = {"AMPLITUDE_API_KEY": "k" * 32, "AMPLITUDE_SECRET_KEY": "s", "AMPRELAY_WRITE_KEY": "w"}
NOW = 1704067200000
SETTINGS = Settings.from_dict({"apiKey": "k" * 32, "secretKey": "s"})
PAGE = {"type": "page", "name": "Home", "userId": "user-1", "anonymousId": "anon-1",
        "properties": {"category": "Docs", "path": "/"}, "timestamp": "2024-01-01T00:00:00Z",
        "context": {"page": {"referrer": "https://ref.example/"}, "campaign": {"source": "news", "name": "w1"},
                    "device": {"id": "dev-1", "advertisingId": "ad-1"}}}
TRACK = {**PAGE, "type": "track", "event": "Clicked", "name": None}


def migrate(**settings):
    m = migrate_classic({"apiKey": "x" * 32, "secretKey": "y", **settings})
    config = parse_config(yaml.safe_dump(m.config), "<migrated>", ENV).config  # it must load
    subs = {s.name: s for s in config.destinations[0].subscriptions}
    return m, subs


def run(sub, event):
    compiled = compile_subscription(Subscription(sub.name, sub.trigger, sub.action, sub.mapping))
    if not compiled.matches(event):
        return None
    return [r.decoded_body() for r in compiled.run(event, SETTINGS, NOW)]


def row(m, label):
    return next(r for r in m.rows if r.setting == label)


def first_event(bodies):
    return bodies[0]["events"][0]


def test_every_classic_setting_has_a_row():
    m, _ = migrate()
    assert {r.setting for r in m.rows} == {
        "API Key", "Secret Key", "Version Name", "Connection Mode", "Track All Pages", "Track All Screens",
        "Track Categorized Pages", "Track Named Pages", "Group Type Trait", "Group Value Trait", "Batch Events",
        "Prefer Anonymous Device ID", "Enable Alias", "Send to Batch Endpoint", "Track Referrer",
        "Track Revenue per Product", "Track UTM Properties", "Use Advertising ID for Device ID",
        "Send Custom Language and Country Properties", "Traits to Increment", "Traits to Set Once", "Endpoint Region"}


def test_api_and_secret_key_become_env_references():
    m, _ = migrate()
    settings = m.config["destinations"][0]["settings"]
    assert settings["apiKey"] == "${AMPLITUDE_API_KEY}" and settings["secretKey"] == "${AMPLITUDE_SECRET_KEY}"
    assert "x" * 32 not in yaml.safe_dump(m.config)
    assert row(m, "API Key").value == "<secret>"


def test_version_name():
    m, subs = migrate(versionName="2.3.4")
    assert first_event(run(subs["Track Calls"], TRACK))["app_version"] == "2.3.4"
    assert "2.3.4" in row(m, "Version Name").became


def test_connection_mode_is_cloud():
    m, _ = migrate(connectionMode="device")
    assert "cloud" in row(m, "Connection Mode").became


def test_track_all_pages():
    m, subs = migrate(trackAllPages=True)
    assert subs["Page Calls"].trigger == 'type = "page"'
    assert first_event(run(subs["Page Calls"], PAGE))["event_type"] == "Viewed Home"
    _, off = migrate(trackAllPages=False)
    assert "Page Calls" not in off


def test_track_all_pages_with_classic_names():
    m = migrate_classic({"trackAllPages": True, "trackNamedPages": True}, keep_classic_page_names=True)
    subs = {s["name"]: s for s in m.config["destinations"][0]["subscriptions"]}
    assert subs["Page Calls"]["mapping"]["event_type"] == "Loaded a Page"
    named = compile_subscription(Subscription("n", subs["Named Page Calls"]["trigger"], "logEventV2",
                                              subs["Named Page Calls"]["mapping"]))
    assert named.run(PAGE, SETTINGS, NOW)[0].decoded_body()["events"][0]["event_type"] == "Viewed Home Page"


def test_track_all_screens():
    _, subs = migrate(trackAllScreens=True)
    screen = {**PAGE, "type": "screen"}
    assert first_event(run(subs["Screen Calls"], screen))["event_type"] == "Viewed Home"
    assert run(subs["Screen Calls"], PAGE) is None


def test_track_categorized_pages():
    _, subs = migrate(trackCategorizedPages=True)
    sub = subs["Categorized Page Calls"]
    assert first_event(run(sub, PAGE))["event_type"] == "Viewed Docs"
    assert run(sub, {**PAGE, "properties": {}}) is None


def test_track_named_pages():
    _, subs = migrate(trackNamedPages=True)
    sub = subs["Named Page Calls"]
    assert first_event(run(sub, PAGE))["event_type"] == "Viewed Home"
    unnamed = {k: v for k, v in PAGE.items() if k != "name"}
    assert run(sub, unnamed) is None


def test_group_type_and_value_traits():
    m, subs = migrate(groupTypeTrait="industry", groupValueTrait="company")
    group = {"type": "group", "userId": "user-1", "groupId": "g1", "traits": {"industry": "retail", "company": "Acme"}}
    bodies = run(subs["Group Calls"], group)
    assert bodies[-1]["identification"][0]["group_type"] == "retail"
    assert bodies[-1]["identification"][0]["group_value"] == "Acme"
    m2, subs2 = migrate(groupTypeTrait="industry")
    assert "Group Calls" not in subs2
    assert "mandatory" in row(m2, "Group Type Trait").became


@pytest.mark.parametrize("setting", ["batchEvents", "sendToBatchEndpoint"])
def test_batch_endpoint(setting):
    _, subs = migrate(**{setting: True})
    compiled = compile_subscription(Subscription("t", subs["Track Calls"].trigger, "logEventV2",
                                                 subs["Track Calls"].mapping))
    assert compiled.run(TRACK, SETTINGS, NOW)[0].url == "https://api2.amplitude.com/batch"
    _, off = migrate()
    off_c = compile_subscription(Subscription("t", off["Track Calls"].trigger, "logEventV2", off["Track Calls"].mapping))
    assert off_c.run(TRACK, SETTINGS, NOW)[0].url == "https://api2.amplitude.com/2/httpapi"


def test_prefer_anonymous_device_id():
    _, subs = migrate(preferAnonymousIdForDeviceId=True)
    assert first_event(run(subs["Track Calls"], TRACK))["device_id"] == "anon-1"
    _, default = migrate()
    assert first_event(run(default["Track Calls"], TRACK))["device_id"] == "dev-1"


def test_use_advertising_id_for_device_id():
    _, subs = migrate(useAdvertisingIdForDeviceId=True)
    assert first_event(run(subs["Track Calls"], TRACK))["device_id"] == "ad-1"
    no_ad = {**TRACK, "context": {"device": {"id": "dev-1"}}}
    assert first_event(run(subs["Track Calls"], no_ad))["device_id"] == "dev-1"


def test_enable_alias():
    _, subs = migrate(enableAlias=True)
    alias = {"type": "alias", "userId": "user-1", "previousId": "anon-1"}
    assert run(subs["Alias Calls"], alias)[0]["mapping"] == [{"user_id": "anon-1", "global_user_id": "user-1"}]
    _, off = migrate()
    assert "Alias Calls" not in off


def test_track_referrer():
    _, subs = migrate(trackReferrer=True)
    props = first_event(run(subs["Track Calls"], TRACK))["user_properties"]
    assert props["$set"]["referrer"] == "https://ref.example/"
    assert props["$setOnce"]["initial_referrer"] == "https://ref.example/"
    _, off = migrate(trackReferrer=False)
    props = first_event(run(off["Track Calls"], TRACK))["user_properties"]
    assert "referrer" not in props["$set"]


def test_track_revenue_per_product():
    _, subs = migrate(trackRevenuePerProduct=True)
    order = {**TRACK, "event": "Order Completed", "properties": {"revenue": 30, "products": [
        {"productId": "p1", "price": 10, "quantity": 1}, {"productId": "p2", "price": 20, "quantity": 1}]}}
    events = run(subs["Order Completed Calls"], order)[0]["events"]
    assert "revenue" not in events[0]
    assert [e.get("revenue") for e in events[1:]] == [10, 20]


def test_track_utm_properties():
    _, subs = migrate(trackUtmProperties=True)
    props = first_event(run(subs["Track Calls"], TRACK))["user_properties"]
    assert props["$set"]["utm_source"] == "news" and props["$setOnce"]["initial_utm_campaign"] == "w1"
    _, off = migrate(trackUtmProperties=False)
    props = first_event(run(off["Track Calls"], TRACK)).get("user_properties", {})
    assert "utm_source" not in props.get("$set", {})


def test_send_custom_language_and_country():
    m, subs = migrate(sendCustomLanguageAndCountry=True)
    ev = {**TRACK, "context": {"locale": "de-DE", "location": {"country": "Germany"}}}
    e = first_event(run(subs["Track Calls"], ev))
    assert (e["language"], e["country"]) == ("de-DE", "Germany")


def test_traits_to_increment_and_set_once():
    m, subs = migrate(traitsToIncrement=["logins"], traitsToSetOnce=[{"value": "signup_date"}])
    ident = {"type": "identify", "userId": "user-1", "traits": {"logins": 1, "signup_date": "2024-01-01", "plan": "pro"}}
    body = run(subs["Identify Calls"], ident)[0]
    props = body["identification"]["user_properties"]
    assert props["$add"] == {"logins": 1}
    assert props["$setOnce"] == {"signup_date": "2024-01-01"}
    assert props["$set"]["plan"] == "pro"


def test_cli_prints_the_table_and_writes_the_config(tmp_path):
    src = tmp_path / "classic.json"
    src.write_bytes(orjson.dumps({"apiKey": "a" * 32, "trackAllPages": True, "trackGclid": True}))
    out = tmp_path / "amprelay.yaml"
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "migrate-classic", str(src), "-o", str(out)],
                       capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""})
    assert r.returncode == 0, r.stderr
    assert "Track All Pages" in r.stderr and "trackGclid" in r.stderr
    assert "a" * 32 not in out.read_text()
    assert parse_config(out.read_text(), str(out), ENV).config.destinations[0].subscriptions


# --- the page's Classic settings table, settings combined -------------------------------------

def fired(subs, event):
    """The Amplitude events every subscription of the migrated config sends for ``event``."""
    out = []
    for sub in subs.values():
        bodies = run(sub, event)
        for body in bodies or []:
            out.extend(body.get("events", []))
    return out


def test_track_all_pages_and_track_named_pages_send_a_named_page_once():
    m, subs = migrate(trackAllPages=True, trackNamedPages=True)
    assert [e["event_type"] for e in fired(subs, PAGE)] == ["Viewed Home"]
    unnamed = {k: v for k, v in PAGE.items() if k != "name"}
    assert len(fired(subs, unnamed)) == 1  # every page still counts
    assert "Page Calls" in row(m, "Track Named Pages").became
    # Classic's own names differ, and Classic sent both: so does the migration with them
    m = migrate_classic({"trackAllPages": True, "trackNamedPages": True}, keep_classic_page_names=True)
    config = parse_config(yaml.safe_dump(m.config), "<migrated>", ENV).config
    subs = {s.name: s for s in config.destinations[0].subscriptions}
    assert sorted(e["event_type"] for e in fired(subs, PAGE)) == ["Loaded a Page", "Viewed Home Page"]


def apply_identify(state, user_properties):
    """Amplitude's user property operations; a property may appear in one operation only."""
    ops = {op: props for op, props in user_properties.items() if op.startswith("$")}
    names = [name for props in ops.values() for name in props]
    assert len(names) == len(set(names)), f"a property in two operations: {ops}"
    for name, value in ops.get("$set", {}).items():
        state[name] = value
    for name, value in ops.get("$setOnce", {}).items():
        state.setdefault(name, value)
    for name, value in ops.get("$add", {}).items():
        state[name] = state.get(name, 0) + value
    return state


def test_traits_to_increment_add_up_as_the_page_says():
    # the page: friendCount 3, then 1, "equals 4"; and a set-once trait keeps its first value
    _, subs = migrate(traitsToIncrement=["friendCount"], traitsToSetOnce=["signup_date"])
    state = {}
    bodies = []
    for n, signup in ((3, "2024-01-01"), (1, "2025-06-30")):
        ident = {"type": "identify", "userId": "user-1",
                 "traits": {"friendCount": n, "signup_date": signup, "plan": "pro"}}
        [body] = run(subs["Identify Calls"], ident)
        bodies.append(body)
        apply_identify(state, body["identification"]["user_properties"])
    assert state == {"friendCount": 4, "signup_date": "2024-01-01", "plan": "pro"}
    # what the reference destination sends for the same mapping and event (dev/oracle, recorded)
    assert bodies[0]["identification"]["user_properties"] == {
        "$set": {"plan": "pro"}, "$setOnce": {"signup_date": "2024-01-01"}, "$add": {"friendCount": 3}}


@pytest.mark.parametrize("settings, region", [({"endpoint": "europe"}, "europe"),
                                              ({"residencyServer": "EU"}, "europe"), ({}, "north_america")])
def test_endpoint_is_migrated_and_said_so(tmp_path, settings, region):
    src = tmp_path / "classic.json"
    src.write_bytes(orjson.dumps({"apiKey": "a" * 32, **settings}))
    out = tmp_path / "amprelay.yaml"
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "migrate-classic", str(src), "-o", str(out)],
                       capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""})
    assert r.returncode == 0, r.stderr
    assert "not migrated" not in r.stderr and f"settings.endpoint = {region}" in r.stderr
    assert parse_config(out.read_text(), str(out), ENV).config.destinations[0].settings["endpoint"] == region
