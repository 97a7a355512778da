"""Requests → units → batches: the rebuilt request has the action's exact shape."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from amprelay.delivery.batcher import Batcher, Limit, form_quote, waves
from amprelay.delivery.insert_id import base_insert_id, event_insert_id
from amprelay.delivery.units import requests_to_units
from amprelay.destination.request import AmplitudeRequest
from amprelay.store.base import Lease
from tests.delivery.helpers import NA, ev, events_req, group_req, identify_req


def as_leases(units):
    return [Lease(i + 1, u.route, u.entry, u.partition, u.message_id, u.created_at) for i, u in enumerate(units)]


def one_batch(requests, **kw):
    units = requests_to_units("amp", "msg-1", requests, **kw)
    batches = Batcher().build(as_leases(units))
    return units, batches


def test_a_json_request_is_rebuilt_byte_for_byte():
    body = {"api_key": "key-1", "events": [ev("user-0001", 1, insert_id="given")], "options": {"min_id_length": 1}}
    req = AmplitudeRequest("POST", NA + "/2/httpapi", "json", json=body)
    units, [batch] = one_batch([req])
    assert len(units) == 1 and units[0].partition == "user-0001"
    assert batch.body == orjson.dumps(body)
    assert batch.headers["Content-Type"] == "application/json"


def test_a_stable_insert_id_is_added_only_when_missing():
    req = events_req([ev("user-0001", 1), ev("user-0001", 2, insert_id=""), ev("user-0001", 3, insert_id="x")])
    units, [batch] = one_batch([req], subscription="Track Calls")
    sent = orjson.loads(batch.body)["events"]
    base = base_insert_id("amp", "Track Calls", "msg-1", 0)
    assert [e["insert_id"] for e in sent] == [base, event_insert_id(base, 1), "x"]
    assert event_insert_id(base, 1) == base + "-2"  # Log Purchase's first product
    # stable: the same message gives the same ids; another subscription gives others
    again = requests_to_units("amp", "msg-1", [req], subscription="Track Calls")
    assert [u.entry for u in again] == [u.entry for u in units]
    other = requests_to_units("amp", "msg-1", [req], subscription="Other")
    assert orjson.loads(other[0].entry)["insert_id"] != base


def test_stable_insert_id_can_be_turned_off():
    units, [batch] = one_batch([events_req([ev("user-0001", 1)])], stable_insert_id=False)
    assert "insert_id" not in orjson.loads(batch.body)["events"][0]


def test_units_of_one_route_share_a_batch_in_order():
    reqs = [events_req([ev(f"user-000{i % 3}", i)]) for i in range(6)]
    units = [u for i, r in enumerate(reqs) for u in requests_to_units("amp", f"m{i}", [r], stable_insert_id=False)]
    [batch] = Batcher().build(as_leases(units))
    assert orjson.loads(batch.body) == {"api_key": "key-1", "events": [ev(f"user-000{i % 3}", i) for i in range(6)]}


def test_routes_differ_by_api_key_options_and_endpoint():
    reqs = [events_req([ev("user-0001", 1)]), events_req([ev("user-0001", 2)], api_key="key-2"),
            events_req([ev("user-0001", 3)], options={"min_id_length": 2}),
            events_req([ev("user-0001", 4)], path="/batch")]
    units = [u for r in reqs for u in requests_to_units("amp", "m", [r])]
    batches = Batcher().build(as_leases(units))
    assert len(batches) == 4
    assert {b.route.path for b in batches} == {"/2/httpapi", "/batch"}


def test_identify_single_object_stays_single_and_batches_as_an_array():
    ident = {"user_id": "user-0001", "user_properties": {"plan": "pro ~*"}, "library": "segment"}
    req = identify_req(ident)
    units, [batch] = one_batch([req])
    expected = "&".join(f"{form_quote(k)}={form_quote(v)}" for k, v in req.form.items())
    assert batch.body == expected.encode()
    assert batch.headers["Content-Type"] == "application/x-www-form-urlencoded;charset=UTF-8"
    assert "%7E" in batch.body.decode() and "*" in batch.body.decode()
    two = [u for i in range(2) for u in requests_to_units("amp", f"m{i}", [identify_req({**ident, "n": i})])]
    [b2] = Batcher().build(as_leases(two))
    fields = dict(parse_qsl(b2.body.decode()))
    assert orjson.loads(fields["identification"]) == [{**ident, "n": 0}, {**ident, "n": 1}]
    assert fields["options"] == "undefined" and fields["api_key"] == "key-1"
    assert list(dict(parse_qsl(b2.body.decode()))) == ["api_key", "identification", "options"]


def test_group_identify_follows_the_identify_of_its_message():
    reqs = [AmplitudeRequest("POST", NA + "/identify", "form", form={
        "api_key": "k", "identification": orjson.dumps([{"user_id": "user-0001", "groups": {"org": "a"}}]).decode(),
        "options": "undefined"}),
        group_req([{"group_type": "org", "group_value": "a", "group_properties": {}, "library": "segment"}], "k")]
    units = requests_to_units("amp", "m", reqs)
    assert [u.route.kind for u in units] == ["identify", "groupidentify"]
    assert [u.partition for u in units] == ["user-0001", "user-0001"]
    assert units[0].route.single is False
    _, batches = one_batch(reqs)
    fields = dict(parse_qsl(batches[0].body.decode()))
    assert fields["identification"].startswith("[")  # sent as the action sent it: an array


def test_batches_respect_entry_and_byte_limits():
    units = [u for i in range(25) for u in requests_to_units("amp", f"m{i}", [events_req([ev("user-0001", i)])])]
    b = Batcher({"/2/httpapi": Limit(10, 10_000_000)})
    assert [len(x) for x in b.build(as_leases(units))] == [10, 10, 5]
    size = len(units[0].entry) + 1
    fixed = len(b"{\"api_key\":\"key-1\",\"events\":[]}")
    b = Batcher({"/2/httpapi": Limit(2000, fixed + 3 * size)})
    out = b.build(as_leases(units))
    assert all(len(x.body) <= fixed + 3 * size for x in out) and sum(len(x) for x in out) == 25
    caps = {units[0].route: Limit(4, 10**9)}
    assert max(len(x) for x in Batcher().build(as_leases(units), caps)) == 4


def test_waves_send_batches_sharing_a_user_one_after_the_other():
    units = [u for i in range(6) for u in requests_to_units("amp", f"m{i}", [events_req([ev(f"u{i % 2}aaaa", i)])])]
    units += requests_to_units("amp", "x", [events_req([ev("other", 9)], api_key="key-2")])
    batches = Batcher({"/2/httpapi": Limit(2, 10**9)}).build(as_leases(units))
    w = waves(batches)
    assert [len(x) for x in w] == [2, 1, 1]  # key-2's batch goes with the first wave
    assert w[1][0].leases[0].id < w[2][0].leases[0].id


def test_a_batch_of_one_is_the_actions_request_byte_for_byte():
    request_mod = __import__("pytest").importorskip("amprelay.destination.request")
    Request = request_mod.AmplitudeRequest
    reqs = [
        Request("POST", NA + "/2/httpapi", "json", json={
            "api_key": "k", "events": [{"event_type": "E", "user_id": "user-0001", "price": 1.0, "tiny": 1e-6,
                                        "big": 1e16, "insert_id": "given"}], "options": {"min_id_length": 1}}),
        Request("POST", NA + "/identify", "form", form={
            "api_key": "k", "identification": request_mod.to_json_text(
                {"user_id": "user-0001", "user_properties": {"a b": "ü~*", "n": 2.5}}), "options": "undefined"}),
        Request("POST", NA + "/groupidentify", "form", form={
            "api_key": "k", "identification": request_mod.to_json_text(
                [{"group_type": "org", "group_value": "x", "library": "segment"}]), "options": '{"min_id_length":2}'}),
        Request("POST", "https://api.amplitude.com/usermap", "form", form={
            "api_key": "k", "mapping": request_mod.to_json_text([{"user_id": "user-0001", "global_user_id": "g"}])}),
    ]
    for req in reqs:
        units = requests_to_units("amp", "m", [req])
        [batch] = Batcher().build(as_leases(units))
        assert batch.body == req.body_bytes(), req.url
        assert batch.headers["Content-Type"] == req.content_type


def test_entry_bytes_matches_the_actions_serialisation():
    request_mod = __import__("pytest").importorskip("amprelay.destination.request")
    from amprelay.delivery.units import entry_bytes

    for value in [{"a": 1, "b": [1, {"c": "x"}]}, {"f": 1.0}, {"n": [1e-6, 2.5, 1e16, 1e21]}, {"big": 2**70},
                  {"s": "1.0,e+1"}, [{"x": -0.0}], {"deep": {"deeper": [[3.0]]}}]:
        assert entry_bytes(value) == request_mod.to_json_bytes(value), value


def test_insert_id_is_readable_and_skipped_without_a_message_id():
    base = base_insert_id("amp", "Track Calls", "msg-1", 0)
    assert base.startswith("msg-1-") and len(base) == len("msg-1-") + 8
    long_id = "x" * 200
    assert len(base_insert_id("amp", "s", long_id, 0)) == 32 + 9
    assert base_insert_id("amp", "s", long_id, 0) == base_insert_id("amp", "s", long_id, 0)
    assert base_insert_id("amp", "s", "m", 0) != base_insert_id("amp", "s", "m", 1)
    [u] = requests_to_units("amp", "", [events_req([ev("user-0001", 1)])])
    assert "insert_id" not in orjson.loads(u.entry)  # no messageId: nothing stable to derive from


def test_a_settlement_from_an_expired_lease_is_dropped_and_counted(tmp_path):
    from amprelay.delivery.metrics import Metrics
    from amprelay.delivery.responses import Action, Outcome
    from amprelay.delivery.settings import DeliverySettings
    from amprelay.delivery.worker import DeliveryWorker
    from amprelay.store import NewUnit, UnitRoute
    from amprelay.store.sqlite import SQLiteQueue

    route = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                       (("api_key", "k"), ("events", None)))
    q = SQLiteQueue(tmp_path / "q.sqlite3")
    try:
        q.enqueue([NewUnit(route, b'{"user_id":"user-1"}', "user-1", "m1", 1000.0)])
        [old] = q.lease("local", 10, 1, now=1000)
        [new] = q.lease("local", 10, 60, now=1002)  # the first lease expired; another took the unit
        metrics = Metrics()
        worker = DeliveryWorker(q, None, DeliverySettings(), metrics)  # type: ignore[arg-type]
        worker.settle([(old, Outcome(Action.DONE))])
        assert metrics.registry.get_sample_value("amprelay_stale_settlements_total") == 1
        assert q.stats().depth == 1  # the new lease's to settle
        worker.settle([(new, Outcome(Action.DONE))])
        assert q.stats().depth == 0
        assert metrics.registry.get_sample_value("amprelay_stale_settlements_total") == 1
    finally:
        q.close()


def _url_search_params(text: str) -> str:
    """``URLSearchParams``' encoding of one component, written the slow obvious way."""
    return quote_plus(text, safe="*").replace("~", "%7E")


_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@given(st.lists(st.fixed_dictionaries({"user_id": _texts, "user_properties": st.dictionaries(_texts, _texts, max_size=3)}),
                min_size=1, max_size=6), _texts)
@example([{"user_id": "a b~*-._%+&=", "user_properties": {"é": "€ 😀"}}], "x y")
def test_form_batches_are_the_url_encoding_of_the_entries_array(idents, api_key):
    """Entries are url-encoded one by one and joined: the body is exactly the encoding of the
    whole array (or of the one object, for a single identifyUser)."""
    units = [u for i, ident in enumerate(idents)
             for u in requests_to_units("amp", f"m{i}", [identify_req(ident, api_key=api_key)])]
    [batch] = Batcher().build(as_leases(units))
    entries = [u.entry.decode() for u in units]
    value = entries[0] if len(entries) == 1 else "[" + ",".join(entries) + "]"
    expected = (f"api_key={_url_search_params(api_key)}&identification={_url_search_params(value)}"
                "&options=undefined")
    assert batch.body == expected.encode()
    assert dict(parse_qsl(batch.body.decode()))["identification"] == value
