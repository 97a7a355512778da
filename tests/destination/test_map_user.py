"""Map User (mapUser): the usermap form body."""

from tests.destination.helpers import EU, Settings, run

ALIAS = {"type": "alias", "previousId": "anon-1", "userId": "user-1"}


def test_default_mapping():
    (request,) = run("mapUser", ALIAS)
    assert request.url == "https://api.amplitude.com/usermap"
    assert request.form == {"api_key": "k-123", "mapping": '[{"user_id":"anon-1","global_user_id":"user-1"}]'}


def test_min_id_length_in_mapping_and_options_only_when_positive():
    (request,) = run("mapUser", ALIAS, overrides={"min_id_length": 2})
    assert request.form["options"] == '{"min_id_length":2}'
    assert request.decoded_body()["mapping"] == [{"user_id": "anon-1", "global_user_id": "user-1", "min_id_length": 2}]
    (request,) = run("mapUser", ALIAS, overrides={"min_id_length": None})
    assert "options" not in request.form
    assert request.decoded_body()["mapping"][0]["min_id_length"] is None


def test_europe_and_missing_api_key():
    (request,) = run("mapUser", ALIAS, settings=EU)
    assert request.url == "https://api.eu.amplitude.com/usermap"
    (request,) = run("mapUser", ALIAS, settings=Settings.from_dict({"secretKey": "s"}))
    assert request.form["api_key"] == "undefined"
