"""Identify User (identifyUser): form body quirks and the user property merge order."""

from amprelay.destination.request import form_urlencode
from tests.destination.helpers import EU, IPHONE_UA, Settings, run


def identify(**extra):
    event = {"type": "identify", "userId": "user-1", "anonymousId": "anon-1", "traits": {"plan": "pro"}, "context": {}}
    event.update(extra)
    return event


def test_form_body_with_identification_object_and_options_undefined():
    (request,) = run("identifyUser", identify())
    assert request.url == "https://api2.amplitude.com/identify"
    assert request.encoding == "form"
    assert list(request.form) == ["api_key", "identification", "options"]
    assert request.form["api_key"] == "k-123"
    assert request.form["options"] == "undefined"
    assert request.form["identification"] == (
        '{"user_id":"user-1","device_id":"anon-1","user_properties":{"plan":"pro"},"library":"segment"}'
    )
    assert request.body_bytes() == form_urlencode(request.form)
    assert request.body_bytes().startswith(b"api_key=k-123&identification=%7B%22user_id%22%3A%22user-1%22")


def test_min_id_length_options_and_missing_api_key():
    (request,) = run("identifyUser", identify(), overrides={"min_id_length": 3}, settings=Settings.from_dict({}))
    assert request.form["options"] == '{"min_id_length":3}'
    assert request.form["api_key"] == "undefined"


def test_utm_and_referrer_win_over_user_properties():
    event = identify(
        traits={"$set": {"utm_source": "mine", "x": 1}, "plan": "pro"},
        context={"campaign": {"source": "google"}, "page": {"referrer": "https://r.example/"}},
    )
    (request,) = run("identifyUser", event)
    ident = request.decoded_body()["identification"]
    assert ident["user_properties"] == {
        "$set": {"utm_source": "google", "x": 1, "referrer": "https://r.example/"},
        "plan": "pro",
        "$setOnce": {"initial_utm_source": "google", "initial_referrer": "https://r.example/"},
    }


def test_user_agent_parsed_and_library_always_segment():
    (request,) = run("identifyUser", identify(context={"userAgent": IPHONE_UA, "library": {"name": "analytics.js"}}))
    ident = request.decoded_body()["identification"]
    assert ident["os_name"] == "iOS" and ident["device_type"] == "mobile"
    assert ident["platform"] == "Web"
    assert ident["library"] == "segment"


def test_pass_through_fields_and_europe():
    (request,) = run("identifyUser", identify(), settings=EU,
                     overrides={"paying": "true", "start_version": 2, "insert_id": "i-1"})
    assert request.url == "https://api.eu.amplitude.com/identify"
    ident = request.decoded_body()["identification"]
    assert (ident["paying"], ident["start_version"], ident["insert_id"]) == (True, "2", "i-1")
