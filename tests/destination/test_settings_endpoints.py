import pytest

from amprelay.delivery.sender import target_url
from amprelay.destination import MAX_SUBSCRIPTIONS, SETTINGS_FIELDS, Settings, SettingsError
from amprelay.destination.endpoints import ENDPOINTS, endpoint_base, endpoint_for, rebase_url
from amprelay.js import UNDEFINED


def test_settings_fields_as_the_reference():
    assert list(SETTINGS_FIELDS) == ["apiKey", "secretKey", "endpoint"]
    assert SETTINGS_FIELDS["apiKey"].type == "password" and SETTINGS_FIELDS["apiKey"].required
    assert SETTINGS_FIELDS["secretKey"].type == "password" and SETTINGS_FIELDS["secretKey"].required
    assert SETTINGS_FIELDS["endpoint"].default == "north_america"
    assert [c["value"] for c in SETTINGS_FIELDS["endpoint"].choices] == ["north_america", "europe"]
    assert MAX_SUBSCRIPTIONS == 50


@pytest.mark.parametrize(
    ("kind", "na", "eu"),
    [
        ("httpapi", "https://api2.amplitude.com/2/httpapi", "https://api.eu.amplitude.com/2/httpapi"),
        ("batch", "https://api2.amplitude.com/batch", "https://api.eu.amplitude.com/batch"),
        ("identify", "https://api2.amplitude.com/identify", "https://api.eu.amplitude.com/identify"),
        ("groupidentify", "https://api2.amplitude.com/groupidentify", "https://api.eu.amplitude.com/groupidentify"),
        ("usermap", "https://api.amplitude.com/usermap", "https://api.eu.amplitude.com/usermap"),
        ("deletions", "https://amplitude.com/api/2/deletions/users",
         "https://analytics.eu.amplitude.com/api/2/deletions/users"),
        ("usersearch", "https://amplitude.com/api/2/usersearch", "https://analytics.eu.amplitude.com/api/2/usersearch"),
    ],
)
def test_regional_endpoints(kind, na, eu):
    assert endpoint_for(kind, "north_america") == na
    assert endpoint_for(kind, "europe") == eu
    assert endpoint_for(kind, "asia") == na  # unknown region -> North America
    assert endpoint_for(kind, UNDEFINED) == na


def test_every_endpoint_has_both_regions():
    assert all(set(v) == {"north_america", "europe"} for v in ENDPOINTS.values())


def test_rebase_url_keeps_path_and_query():
    assert rebase_url("https://api2.amplitude.com/2/httpapi", "http://127.0.0.1:9000") == "http://127.0.0.1:9000/2/httpapi"
    assert rebase_url("https://amplitude.com/api/2/usersearch?user=a", "http://h:1/amp/") == "http://h:1/amp/api/2/usersearch?user=a"
    assert rebase_url("https://x/y", None) == "https://x/y"


def test_rebase_url_keeps_the_eu_region_as_a_prefix():
    for kind, url in ((k, v["europe"]) for k, v in ENDPOINTS.items()):
        rebased = rebase_url(url, "http://127.0.0.1:9000")
        assert rebased.startswith("http://127.0.0.1:9000/eu/"), kind
        assert rebased.removeprefix("http://127.0.0.1:9000/eu") == rebase_url(ENDPOINTS[kind]["north_america"],
                                                                             "http://127.0.0.1:9000").removeprefix(
            "http://127.0.0.1:9000"), kind  # same path as NA's, under /eu
    assert rebase_url("https://api.eu.amplitude.com/batch", "http://h:1/amp/") == "http://h:1/amp/eu/batch"
    assert target_url("https://api.eu.amplitude.com/2/httpapi", "http://h:1") == "http://h:1/eu/2/httpapi"
    assert target_url("https://api.eu.amplitude.com/2/httpapi", None) == "https://api.eu.amplitude.com/2/httpapi"


def test_endpoint_base():
    assert endpoint_base("north_america", None) == "https://api2.amplitude.com"
    assert endpoint_base("europe", None) == "https://api.eu.amplitude.com"
    assert endpoint_base("europe", "http://127.0.0.1:9000/") == "http://127.0.0.1:9000/eu"
    assert endpoint_base("north_america", "http://127.0.0.1:9000") == "http://127.0.0.1:9000"


def test_secrets_never_in_repr_or_masked_dict():
    s = Settings.from_dict({"apiKey": "APIKEY123", "secretKey": "SECRET456", "endpoint": "europe"})
    for text in (repr(s), str(s), str(s.to_dict())):
        assert "APIKEY123" not in text and "SECRET456" not in text
    assert s.to_dict(reveal=True) == {"apiKey": "APIKEY123", "secretKey": "SECRET456", "endpoint": "europe"}
    assert s.region == "europe"


def test_missing_settings_are_undefined():
    s = Settings.from_dict({})
    assert s.api_key is UNDEFINED and s.secret_key is UNDEFINED
    assert s.region == "north_america"
    with pytest.raises(SettingsError, match="API Key"):
        s.validate()
    with pytest.raises(SettingsError, match="Endpoint Region"):
        Settings.from_dict({"apiKey": "a", "secretKey": "b", "endpoint": "asia"}).validate()
    Settings.from_dict({"apiKey": "a", "secretKey": "b"}).validate()


def test_settings_from_env():
    s = Settings.from_env({"AMPLITUDE_API_KEY": "a", "AMPLITUDE_SECRET_KEY": "b", "AMPLITUDE_REGION": "europe"})
    assert (s.api_key, s.secret_key, s.region) == ("a", "b", "europe")
    assert Settings.from_env({}).region == "north_america"
