import base64
import gzip

import orjson
import pytest

from amprelay.server.ingest import (
    MAX_DEPTH,
    IngestError,
    RateLimiter,
    Rejection,
    Rejections,
    decode_body,
    parse_request,
    write_key_from_auth,
)

from .helpers import expand_batch_item


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_write_key_from_basic_auth_username():
    assert write_key_from_auth(basic("wk_123")) == "wk_123"
    assert write_key_from_auth(basic("wk_123", "ignored")) == "wk_123"


@pytest.mark.parametrize("header", [None, "", "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b":pw").decode()])
def test_write_key_absent_or_malformed(header):
    assert write_key_from_auth(header) is None


def test_track_path_sets_type_and_takes_body_write_key():
    body = orjson.dumps({"event": "Signed Up", "userId": "u1", "writeKey": "wk", "type": "identify"})
    parsed = parse_request("track", body, None, 32 * 1024)
    assert parsed.write_key == "wk"
    assert parsed.messages == [{"event": "Signed Up", "userId": "u1", "type": "track"}]


def test_short_paths_of_analytics_js():
    for seg, typ in [("t", "track"), ("p", "page"), ("i", "identify"), ("g", "group"), ("a", "alias"), ("s", "screen")]:
        parsed = parse_request(seg, b'{"userId":"u"}', basic("k"), 32 * 1024)
        assert parsed.messages[0]["type"] == typ


def test_basic_auth_wins_over_body_key():
    parsed = parse_request("track", b'{"writeKey":"body","event":"x"}', basic("header"), 1024)
    assert parsed.write_key == "header"


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"", "empty_body"), (b"{not json", "invalid_json"), (b"[1,2]", "invalid_json"), (b'"x"', "invalid_json")],
)
def test_invalid_bodies_are_400_with_reason(body, code):
    with pytest.raises(IngestError) as info:
        parse_request("track", body, None, 1024)
    assert info.value.status == 400
    assert info.value.code == code
    assert info.value.message


def test_message_over_32kb_is_413():
    body = orjson.dumps({"event": "x", "properties": {"blob": "a" * 40000}})
    with pytest.raises(IngestError) as info:
        parse_request("track", body, None, 32 * 1024)
    assert info.value.status == 413
    assert "32768" in info.value.message


def test_batch_requires_array():
    with pytest.raises(IngestError) as info:
        parse_request("batch", b'{"batch": {}}', None, 1024)
    assert info.value.code == "invalid_batch"


def test_batch_shared_context_integrations_and_sent_at():
    body = orjson.dumps({
        "batch": [{"type": "track", "event": "a", "context": {"ip": "1.2.3.4"}}, {"type": "page"}],
        "context": {"library": {"name": "analytics-python"}, "ip": "9.9.9.9"},
        "integrations": {"All": False},
        "sentAt": "2024-01-01T00:00:00Z",
    })
    parsed = parse_request("batch", body, None, 1024)
    first, reason = expand_batch_item(parsed.messages[0], parsed.batch_context, 1024)
    assert reason is None
    assert first["context"] == {"library": {"name": "analytics-python"}, "ip": "1.2.3.4"}
    assert first["integrations"] == {"All": False}
    assert first["sentAt"] == "2024-01-01T00:00:00Z"


def test_batch_item_not_an_object_or_too_large():
    assert expand_batch_item(5, {}, 1024) == (None, Rejection("not_an_object",
                                                              "a message must be a JSON object, not a number"))
    msg, rejection = expand_batch_item({"type": "track", "event": "x" * 2000}, {}, 1024)
    assert msg is None and rejection.code == "too_large" and "limit is 1024" in rejection.reason


def test_batch_item_nested_beyond_the_limit_is_rejected_and_the_limit_itself_is_taken():
    deep: dict = {}
    node = deep
    for _ in range(MAX_DEPTH - 2):  # properties at level 2 .. MAX_DEPTH
        node["a"] = {}
        node = node["a"]
    ok, rejection = expand_batch_item({"type": "track", "event": "x", "userId": "u", "properties": deep}, {}, 32768)
    assert rejection is None and ok is not None
    node["a"] = {}
    msg, rejection = expand_batch_item({"type": "track", "event": "x", "userId": "u", "properties": deep}, {}, 32768)
    assert msg is None and rejection.code == "too_deep" and str(MAX_DEPTH) in rejection.reason


def test_write_key_is_removed_from_batch_items_and_bodies_before_anything_else():
    body = orjson.dumps({"writeKey": "wk-secret", "batch": [
        {"writeKey": "wk-secret", "type": "track", "event": "x" * 5000, "userId": "u"},
        {"writeKey": "wk-secret", "type": "track", "event": "ok", "userId": "u"}, 7]})
    parsed = parse_request("batch", body, None, 1024)
    assert parsed.write_key == "wk-secret"
    assert "wk-secret" not in repr(parsed.batch_context)
    results = [expand_batch_item(item, parsed.batch_context, 1024) for item in parsed.messages]
    assert results[0][1].code == "too_large"
    assert "wk-secret" not in repr(parsed.messages) and "wk-secret" not in repr(results)


def test_rejections_answer_and_dead_letter_stay_small():
    r = Rejections()
    for i in range(2000):
        r.add(i, Rejection("invalid_message", "the message needs a 'userId' or an 'anonymousId'"), {"n": i})
    r.add_many(2000, 98_000, Rejection("too_many", "the batch holds 100000 messages; the limit is 2500 per batch"))
    answer = r.answer()
    assert answer["rejected_count"] == 100_000
    assert answer["rejected_reasons"] == {"invalid_message": 2000, "too_many": 98_000}
    assert len(answer["rejected"]) == Rejections.ANSWERED
    record = r.dead_letter()
    assert len(orjson.dumps(record)) < 2000
    assert record["message"]["rejected"] == 100_000 and len(record["message"]["samples"]) == Rejections.STORED
    assert record["reason"].startswith("100000 message(s) rejected (invalid_message 2000, too_many 98000)")


def test_rate_limiter_buckets_per_write_key():
    now = [0.0]
    limiter = RateLimiter(rate=10, burst=20, clock=lambda: now[0])
    assert limiter.take("a", 20) == 0.0
    assert limiter.take("a", 5) == pytest.approx(0.5)
    assert limiter.take("b", 5) == 0.0  # another key has its own bucket
    now[0] = 0.5
    assert limiter.take("a", 5) == 0.0
    assert limiter.take("a", 1000) > 0  # a request over the burst waits for a full bucket


def test_gzip_bodies_and_limits():
    raw = orjson.dumps({"event": "x"})
    assert decode_body(gzip.compress(raw), "gzip", 1024) == raw
    with pytest.raises(IngestError) as info:
        decode_body(gzip.compress(b"a" * 5000), "gzip", 1024)
    assert info.value.status == 413
    with pytest.raises(IngestError) as info:
        decode_body(b"not gzip", "gzip", 1024)
    assert info.value.code == "invalid_gzip"
    with pytest.raises(IngestError) as info:
        decode_body(gzip.compress(raw)[:-6], "gzip", 1024)
    assert info.value.status == 400
    with pytest.raises(IngestError) as info:
        decode_body(raw, "br", 1024)
    assert info.value.status == 415


def test_unknown_path_is_404():
    with pytest.raises(IngestError) as info:
        parse_request("nope", b"{}", None, 1024)
    assert info.value.status == 404


def test_long_integers_are_read_as_javascript_holds_them():
    from amprelay.destination.js import js_json_loads

    doc = js_json_loads(b'{"a": 9007199254740993, "b": -12345678901234567, "c": 123456789012345,'
                        b' "d": "12345678901234567890", "e": 1.2345678901234567}')
    assert doc["a"] == 9007199254740992.0 and isinstance(doc["a"], float)
    assert doc["b"] == -12345678901234568.0 and isinstance(doc["b"], float)
    assert doc["c"] == 123456789012345 and isinstance(doc["c"], int)
    assert doc["d"] == "12345678901234567890"  # digits inside a string stay a string
    assert doc["e"] == 1.2345678901234567


@pytest.mark.parametrize(("body", "names"), [
    (b'{"event":"x","userId":"u","properties":{"n":NaN}}', "NaN"),
    (b'{"event":"x","userId":"u","properties":{"n":Infinity}}', "Infinity"),
    (b'{"event":"x","userId":"u","properties":{"n":-Infinity}}', "-Infinity"),
    ('{"event":"x","userId":"u"}'.encode("utf-16"), "UTF-16"),
    (b'{"event":"x\xff","userId":"u"}', "not UTF-8"),
])
def test_what_json_parse_refuses_is_a_400_naming_the_problem(body, names):
    with pytest.raises(IngestError) as info:
        parse_request("track", body, basic("k"), 32 * 1024)
    assert (info.value.status, info.value.code) == (400, "invalid_json")
    assert names in info.value.message


def test_a_batch_item_nested_100000_deep_is_read_and_rejected_alone():
    deep = b"[" * 100_000 + b"]" * 100_000
    body = b'{"batch":[' + deep + b',{"type":"track","event":"ok","userId":"user-1"}]}'
    parsed = parse_request("batch", body, basic("k"), 32 * 1024)
    rejections = Rejections()
    for index, item in enumerate(parsed.messages):
        msg, rejection = expand_batch_item(item, parsed.batch_context, 32 * 1024)
        if rejection is not None:
            rejections.add(index, rejection, item)
    assert rejections.by_code == {"not_an_object": 1}
    record = rejections.dead_letter()
    assert record["message"]["samples"] == [{"index": 0, "reason": "a message must be a JSON object, not an array"}]
    orjson.dumps(record)
