"""Log Event (logEvent): the default mapping end to end and its quirks."""

import pytest

from amprelay.engine import PayloadError
from tests.destination.helpers import CHROME_WINDOWS_UA, EU, IPHONE_UA, Settings, events_of, run, track


def test_default_mapping_event():
    (request,) = run("logEvent", track(context={"library": {"name": "analytics-node"}}))
    assert request.method == "POST" and request.url == "https://api2.amplitude.com/2/httpapi"
    assert request.encoding == "json"
    assert list(request.json) == ["api_key", "events"]
    assert request.json["api_key"] == "k-123"
    assert request.json["events"] == [
        {
            "user_id": "user-1234",
            "device_id": "anon-1234",
            "event_type": "Song Played",
            "event_properties": {"song": "x"},
            "use_batch_endpoint": False,
            "time": 1629213675449,
            "library": "analytics-node",
        }
    ]


def test_no_library_name_means_no_library_key_and_legacy_behaviour_means_segment():
    (event,) = events_of(run("logEvent", track()))
    assert "library" not in event
    (event,) = events_of(run("logEvent", track(), overrides={"library2": {}}))
    assert event["library"] == "segment"


def test_analytics_js_platform_is_web_unless_mapped():
    (event,) = events_of(run("logEvent", track(context={"library": {"name": "analytics.js"}})))
    assert event["platform"] == "Web"
    (event,) = events_of(run("logEvent", track(context={"library": {"name": "analytics.js"}, "device": {"type": "ios"}})))
    assert event["platform"] == "iOS"
    (event,) = events_of(run("logEvent", track(context={"library": {"name": "Analytics.js"}})))
    assert "platform" not in event  # exact, case-sensitive


@pytest.mark.parametrize(
    ("given", "sent"),
    [("ios", "iOS"), ("ANDROID", "Android"), ("bios-terminal", "biOS-terminal"), ("iosios", "iOSios"), ("Web", "Web")],
)
def test_platform_first_match_replaced(given, sent):
    (event,) = events_of(run("logEvent", track(context={"device": {"type": given}})))
    assert event["platform"] == sent


def test_utm_and_referrer_become_set_and_set_once_and_user_properties_win():
    event = track(
        traits={"plan": "pro", "utm_properties": {"x": 1}, "referrer": "r", "$set": {"utm_source": "mine"}},
        context={"campaign": {"source": "google", "medium": "cpc", "name": ""}, "page": {"referrer": "https://a.example/"}},
    )
    (sent,) = events_of(run("logEvent", event, overrides={"user_properties": {"@path": "$.traits"}}))
    assert sent["user_properties"] == {
        # "" survives inside utm_properties (only root-level empty values are removed)
        "$set": {"utm_source": "mine", "utm_medium": "cpc", "utm_campaign": "", "referrer": "https://a.example/"},
        "$setOnce": {
            "initial_utm_source": "google",
            "initial_utm_medium": "cpc",
            "initial_utm_campaign": "",
            "initial_referrer": "https://a.example/",
        },
        "plan": "pro",
    }


def test_no_utm_no_referrer_leaves_user_properties_alone():
    (event,) = events_of(run("logEvent", track(traits={"utm_properties": 1}), overrides={"user_properties": {"@path": "$.traits"}}))
    assert event["user_properties"] == {"utm_properties": 1}


def test_user_agent_parsed_and_mapped_values_win():
    (event,) = events_of(run("logEvent", track(context={"userAgent": IPHONE_UA})))
    assert {k: event[k] for k in ("os_name", "os_version", "device_manufacturer", "device_model", "device_type")} == {
        "os_name": "iOS", "os_version": "17", "device_manufacturer": "Apple", "device_model": "iPhone", "device_type": "mobile",
    }
    assert list(event)[:5] == ["os_name", "os_version", "device_manufacturer", "device_model", "device_type"]
    assert "user_agent" not in event
    (event,) = events_of(run("logEvent", track(context={"userAgent": CHROME_WINDOWS_UA, "os": {"name": "MyOS", "version": ""}})))
    assert event["os_name"] == "MyOS" and event["os_version"] == "120"


def test_raw_user_agent_and_parsing_off():
    (event,) = events_of(run("logEvent", track(context={"userAgent": IPHONE_UA}), overrides={"includeRawUserAgent": True}))
    assert event["user_agent"] == IPHONE_UA
    (event,) = events_of(run("logEvent", track(context={"userAgent": IPHONE_UA}), overrides={"userAgentParsing": False}))
    assert not {"os_name", "device_model", "device_type"} & set(event)


def test_batch_endpoint_and_regions():
    (request,) = run("logEvent", track(), overrides={"use_batch_endpoint": True})
    assert request.url == "https://api2.amplitude.com/batch"
    assert request.json["events"][0]["use_batch_endpoint"] is True
    (request,) = run("logEvent", track(), settings=EU)
    assert request.url == "https://api.eu.amplitude.com/2/httpapi"
    (request,) = run("logEvent", track(), settings=EU, overrides={"use_batch_endpoint": "true"})
    assert request.url == "https://api.eu.amplitude.com/batch"
    (request,) = run("logEvent", track(), settings=Settings.from_dict({"apiKey": "k", "endpoint": "asia"}))
    assert request.url == "https://api2.amplitude.com/2/httpapi"


def test_missing_api_key_means_no_api_key_in_json_body():
    (request,) = run("logEvent", track(), settings=Settings.from_dict({}))
    assert "api_key" not in request.json


@pytest.mark.parametrize(("value", "options"), [(3, {"min_id_length": 3}), (0, None), (-1, None), (None, None), ("4", {"min_id_length": 4})])
def test_min_id_length_to_options(value, options):
    (request,) = run("logEvent", track(), overrides={"min_id_length": value})
    assert request.json.get("options") == options
    assert "min_id_length" not in request.json["events"][0]


def test_products_and_revenue_fields_stay_out_of_the_event_but_products_are_copied():
    event = track(properties={"revenue": 10, "price": 5, "quantity": 2, "products": [{"price": "1.5", "productId": 7}]})
    (sent,) = events_of(run("logEvent", event))
    assert not {"revenue", "price", "quantity", "productId", "revenueType"} & set(sent)
    assert sent["products"] == [{"price": 1.5, "productId": "7"}]
    assert sent["event_properties"]["products"] == [{"price": "1.5", "productId": 7}]


def test_required_event_type():
    with pytest.raises(PayloadError, match="missing the required field 'event_type'"):
        run("logEvent", track(event=""))
    with pytest.raises(PayloadError, match="Price must be a number but it was a string"):
        run("logEvent", track(properties={"price": "abc"}))
