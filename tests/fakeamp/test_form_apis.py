"""Identify, Group Identify and User Mapping: form-encoded bodies as the destination sends them."""

from __future__ import annotations

import httpx
import orjson
import pytest


def form(fake, path, fields, **kw):
    return fake.client.post(path, data=fields, **kw)


def js(obj) -> str:
    return orjson.dumps(obj).decode()


def test_identify_single_object_with_undefined_options(fake):
    ident = {"user_id": "user-0001", "device_id": "dev-0001", "user_properties": {"$set": {"a": 1}},
             "library": "segment", "insert_id": "ins-1"}
    r = form(fake, "/identify", {"api_key": "key-1", "identification": js(ident), "options": "undefined"})
    assert (r.status_code, r.text) == (200, "success")
    assert r.headers["content-type"].startswith("text/plain")
    [rec] = fake.events()
    assert rec == {
        "path": "/identify",
        "region": "na",
        "api_key": "key-1",
        "kind": "identification",
        "data": ident,
        "options": "undefined",
        "received_at": rec["received_at"],
    }


def test_identify_array_and_min_id_length_option(fake):
    idents = [{"user_id": "abc"}, {"device_id": "defg"}]
    r = form(fake, "/identify", {"api_key": "k", "identification": js(idents)})
    assert (r.status_code, r.text) == (400, "missing_event")  # IDs shorter than 5
    r = form(fake, "/identify", {"api_key": "k", "identification": js(idents), "options": js({"min_id_length": 3})})
    assert r.status_code == 200
    recs = fake.events(kind="identification")
    assert [x["data"] for x in recs] == idents
    assert all(x["options"] == {"min_id_length": 3} for x in recs)


def test_identify_via_query_string(fake):
    r = httpx.get(
        fake.url + "/identify",
        params={"api_key": "k", "identification": js({"user_id": "user-q"})},
    )
    assert (r.status_code, r.text) == (200, "success")
    assert fake.events()[0]["data"] == {"user_id": "user-q"}


@pytest.mark.parametrize(
    "fields",
    [
        {"api_key": "k"},
        {"api_key": "k", "identification": "not json"},
        {"api_key": "k", "identification": "[]"},
        {"api_key": "k", "identification": js({"user_properties": {"a": 1}})},
        {"api_key": "k", "identification": js({"user_id": "user-1", "user_properties": "x"})},
        {"api_key": "k", "identification": js([{"user_id": "user-1"}, 5])},
    ],
)
def test_identify_bad_identification(fake, fields):
    r = form(fake, "/identify", fields)
    assert (r.status_code, r.text) == (400, "missing_event")
    assert fake.events() == []


def test_identify_api_key(fake):
    r = form(fake, "/identify", {"identification": js({"user_id": "user-1"})})
    assert (r.status_code, r.text) == (400, "invalid_api_key")
    fake.configure(invalid_api_keys=["undefined"])
    r = form(fake, "/identify", {"api_key": "undefined", "identification": js({"user_id": "user-1"})})
    assert (r.status_code, r.text) == (400, "invalid_api_key")


def test_identify_dedupes_insert_id(fake):
    fields = {"api_key": "k", "identification": js({"user_id": "user-1", "insert_id": "same"})}
    assert form(fake, "/identify", fields).status_code == 200
    assert form(fake, "/identify", fields).status_code == 200
    assert len(fake.events()) == 1


def test_identify_is_throttled_per_user(fake):
    fake.configure(eps_limit=1, eps_window_s=5)
    idents = [{"user_id": "busy-user"}] * 6
    r = form(fake, "/identify", {"api_key": "k", "identification": js(idents)})
    assert r.status_code == 429
    assert r.json()["throttled_users"] == {"busy-user": 1}
    assert r.json()["throttled_events"] == [0, 1, 2, 3, 4, 5]


def test_groupidentify(fake):
    idents = [{"group_properties": {"plan": "pro"}, "group_value": "acme", "group_type": "company",
               "library": "segment"}]
    r = form(fake, "/groupidentify", {"api_key": "k", "identification": js(idents), "options": "undefined"})
    assert (r.status_code, r.text) == (200, "success")
    [rec] = fake.events(path="/groupidentify")
    assert rec["kind"] == "group_identification"
    assert rec["data"] == idents[0]


@pytest.mark.parametrize(
    "ident",
    [
        {"group_type": "company"},
        {"group_value": "acme"},
        {"group_type": "company", "group_value": ""},
        {"group_type": "company", "group_value": 5},
        {"group_type": "company", "group_value": "acme", "group_properties": "x"},
    ],
)
def test_groupidentify_requires_type_and_value(fake, ident):
    r = form(fake, "/groupidentify", {"api_key": "k", "identification": js([ident])})
    assert (r.status_code, r.text) == (400, "missing_event")


def test_usermap_map_and_unmap(fake):
    mapping = [
        {"user_id": "p1", "global_user_id": "user1234", "min_id_length": None},
        {"user_id": "p2", "unmap": True},
    ]
    r = form(fake, "/usermap", {"api_key": "k", "mapping": js(mapping)})
    assert (r.status_code, r.text) == (200, "success")
    recs = fake.events(kind="mapping")
    assert [x["data"] for x in recs] == mapping
    assert all(x["path"] == "/usermap" and x["options"] is None for x in recs)


@pytest.mark.parametrize("mapping", [None, "[]", js([{"user_id": "p1"}]), js([{"global_user_id": "g"}])])
def test_usermap_bad_mapping(fake, mapping):
    fields = {"api_key": "k"}
    if mapping is not None:
        fields["mapping"] = mapping
    r = form(fake, "/usermap", fields)
    assert (r.status_code, r.text) == (400, "missing_mapping")


@pytest.mark.parametrize("path", ["/identify", "/groupidentify", "/usermap"])
def test_form_apis_under_eu_prefix(fake, path):
    field = "mapping" if path == "/usermap" else "identification"
    value = {
        "/identify": {"user_id": "user-eu"},
        "/groupidentify": {"group_type": "t", "group_value": "v"},
        "/usermap": {"user_id": "u", "global_user_id": "g"},
    }[path]
    r = form(fake, "/eu" + path, {"api_key": "k", field: js(value)})
    assert r.status_code == 200
    [rec] = fake.events()
    assert (rec["path"], rec["region"], rec["data"]) == (path, "eu", value)


def test_form_413(fake):
    fake.configure(max_body_bytes=100)
    r = form(fake, "/identify", {"api_key": "k", "identification": js({"user_id": "u" * 200})})
    assert (r.status_code, r.json()) == (413, {"code": 413, "error": "Payload too large"})
