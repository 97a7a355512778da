"""The relay under hostile or impossible conditions: a full store, slow and truncated bodies."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.relay import WRITE_KEY, relay_config, wait_for


def test_store_over_its_limit_answers_503_with_retry_after(tmp_path, fake, start_relay):
    cfg = relay_config(tmp_path / "data", fake.url)
    cfg.queue.max_bytes = 1  # any store is over this
    relay = start_relay(config=cfg)
    r = httpx.post(relay.url + "/v1/track", json={"event": "x", "userId": "user-1"}, auth=(WRITE_KEY, ""))
    assert r.status_code == 503
    assert int(r.headers["retry-after"]) > 0
    assert "limit" in r.json()["message"]
    assert httpx.get(relay.url + "/ready").status_code == 503
    assert httpx.get(relay.url + "/health").status_code == 200


def _raw(url: str) -> tuple[str, int]:
    host, port = url.split("://", 1)[1].split(":")
    return host, int(port)


def test_truncated_and_slow_bodies_do_not_hurt_the_server(fake, start_relay):
    relay = start_relay()
    host, port = _raw(relay.url)
    # a body shorter than its Content-Length, then the client goes away
    with socket.create_connection((host, port)) as s:
        s.sendall(b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500\r\nAuthorization: Basic d2stZTJlLTAwMDE6\r\n\r\n{\"event\": \"trunc")
    # a slow client: the body arrives in pieces over a second
    with socket.create_connection((host, port)) as s:
        body = b'{"event": "Slow Body", "userId": "user-slow1"}'
        s.sendall(b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n".encode()
                  + b"Authorization: Basic d2stZTJlLTAwMDE6\r\nConnection: close\r\n\r\n")
        for i in range(0, len(body), 8):
            s.sendall(body[i:i + 8])
            time.sleep(0.15)
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200")
    ok = httpx.post(relay.url + "/v1/track", json={"event": "After", "userId": "user-after"}, auth=(WRITE_KEY, ""))
    assert ok.status_code == 200
    wait_for(lambda: {"Slow Body", "After"} <= {e["data"]["event_type"] for e in fake.events()})
    assert "trunc" not in str([e["data"]["event_type"] for e in fake.events()])


def test_wrong_types_are_a_clear_400():
    from amprelay.server.ingest import parse_request
    from amprelay.spec import validate_message

    parsed = parse_request("track", b'{"event": 5, "userId": {"a": 1}, "properties": [], "timestamp": 7}', None, 4096)
    problems = validate_message(parsed.messages[0])
    assert any("'event' must be a string" in p for p in problems)
    assert any("'properties' must be an object" in p for p in problems)
    assert not any("'timestamp'" in p for p in problems)  # any timestamp is taken, as sent


def test_demo_command_runs_end_to_end():
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "demo"], capture_output=True, text=True,
                       timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr + r.stdout
    out = r.stdout
    assert "Amplitude received" in out
    for what in ("/2/httpapi", "/identify", "/groupidentify", "/usermap", "Viewed Home", "Order Completed",
                 "Product Purchased"):
        assert what in out, what
    assert "dead letters 0" in out


# --- hostile input ---------------------------------------------------------------------------

def _post(relay, path: str, content: bytes, **kw) -> httpx.Response:
    return httpx.post(relay.url + path, content=content, auth=(WRITE_KEY, ""), timeout=30,
                      headers={"content-type": "application/json"}, **kw)


def _events_at_least(fake, n: int) -> list[dict]:
    return wait_for(lambda: (lambda ev: ev if len(ev) >= n else None)(fake.events()))


def _settled(relay) -> None:
    """Wait until the inbox has turned every accepted message into units or dead letters."""
    inbox = relay.service.relay.inbox
    if inbox is not None:
        wait_for(lambda: inbox.depth() == 0)


def test_a_lone_surrogate_is_delivered_escaped_as_json_stringify_writes_it(fake, start_relay):
    relay = start_relay()
    good = [f'{{"type":"track","event":"Good {i}","userId":"user-{i:05d}"}}' for i in range(99)]
    poison = '{"type":"track","event":"Poison","userId":"user-poison","properties":{"s":"\\ud800","t":"a\\udfffb"}}'
    r = _post(relay, "/v1/batch", ('{"batch":[' + ",".join([*good[:50], poison, *good[50:]]) + "]}").encode())
    assert r.status_code == 200, r.text
    assert "rejected" not in r.json()
    events = _events_at_least(fake, 100)
    poisoned = [e["data"] for e in events if e["data"]["event_type"] == "Poison"]
    assert [p["event_properties"] for p in poisoned] == [{"s": "\ud800", "t": "a\udfffb"}]
    assert len(events) == 100


def test_a_single_lone_surrogate_message_and_its_units_serialise_as_the_reference_does():
    from amprelay.delivery.units import requests_to_units
    from amprelay.destination.request import AmplitudeRequest

    req = AmplitudeRequest("POST", "https://api2.amplitude.com/2/httpapi", "json",
                  json={"api_key": "k", "events": [{"event_type": "x", "event_properties": {"s": "\ud800"}}]})
    assert b'"s":"\\ud800"' in req.body_bytes()  # JSON.stringify('\ud800') === '"\\ud800"'
    units = requests_to_units("amplitude", "m-1", [req], subscription="s", stable_insert_id=False, created_at=0.0)
    assert b'"\\ud800"' in units[0].entry


def _nested(depth: int) -> dict:
    node: dict = {"leaf": 1}
    for _ in range(depth - 1):
        node = {"a": node}
    return node


def test_nesting_beyond_the_limit_is_a_reason_not_a_5xx(fake, start_relay):
    relay = start_relay()
    deep = {"type": "track", "event": "Deep", "userId": "user-deep", "properties": _nested(300)}
    r = httpx.post(relay.url + "/v1/track", json=deep, auth=(WRITE_KEY, ""), timeout=30)
    assert r.status_code == 400 and r.json()["code"] == "too_deep" and "64" in r.json()["message"]
    at_limit = {"type": "track", "event": "At Limit", "userId": "user-deep", "properties": _nested(63)}
    batch = {"batch": [deep, at_limit, {"type": "track", "event": "Shallow", "userId": "user-deep"}]}
    r = httpx.post(relay.url + "/v1/batch", json=batch, auth=(WRITE_KEY, ""), timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["rejected_reasons"] == {"too_deep": 1} and r.json()["rejected"][0]["index"] == 0
    wait_for(lambda: {"At Limit", "Shallow"} <= {e["data"]["event_type"] for e in fake.events()})


def test_timestamps_server_libraries_send_are_accepted_and_delivered(fake, start_relay):
    relay = start_relay()
    shapes = {"py": "2024-03-15T16:23:05.123456", "py-off": "2024-03-15T16:23:05.123456+00:00",
              "go": "2024-03-15T16:23:05.123456789Z", "ruby": "2024-03-15T16:23:05.000+09:00",
              "java": "2024-03-15T16:23:05.123+0000", "epoch-s": 1710520985, "epoch-ms": 1710520985123,
              "epoch-s-str": "1710520985", "epoch-ms-str": "1710520985123"}
    # the times the reference sends for these (tests/conformance_extra/expected/timestamps.jsonl)
    want = {"py": 1710519785123, "py-off": 1710519785123, "go": 1710519785123, "ruby": 1710487385000,
            "java": 1710519785123, "epoch-s": 1710520985, "epoch-ms": 1710520985123,
            "epoch-s-str": -8069799600000, "epoch-ms-str": -8069798877000}
    batch = [{"type": "track", "event": f"TS {name}", "userId": "user-ts", "timestamp": ts}
             for name, ts in shapes.items()]
    r = httpx.post(relay.url + "/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""), timeout=30)
    assert r.status_code == 200 and "rejected" not in r.json(), r.text
    events = _events_at_least(fake, len(shapes))
    got = {e["data"]["event_type"][3:]: e["data"].get("time") for e in events}
    assert got == want


def _files_holding(root, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_the_write_key_is_never_stored(fake, tmp_path, start_relay):
    relay = start_relay()
    key = WRITE_KEY.encode()
    batch = {"writeKey": WRITE_KEY, "batch": [
        {"writeKey": WRITE_KEY, "type": "track", "event": "Kept", "userId": "user-wk"},
        {"writeKey": WRITE_KEY, "type": "track", "event": "Too Big", "userId": "user-wk",
         "properties": {"b": "x" * 40_000}},
        {"writeKey": WRITE_KEY, "type": "track", "userId": "user-wk"},  # invalid: no event
    ]}
    r = httpx.post(relay.url + "/v1/batch", json=batch, timeout=30)  # the key only in the body
    assert r.status_code == 200 and r.json()["rejected_reasons"] == {"too_large": 1, "invalid_message": 1}
    r = httpx.post(relay.url + "/v1/track", json={"writeKey": WRITE_KEY, "event": "Single", "userId": "user-wk"})
    assert r.status_code == 200
    wait_for(lambda: {"Kept", "Single"} <= {e["data"]["event_type"] for e in fake.events()})
    _settled(relay)
    assert relay.service.relay.queue.stats().dead_letters == 1
    relay.stop()
    assert _files_holding(tmp_path / "data", key) == []


def _rss_kb(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def test_four_concurrent_junk_batches_cost_little_memory_and_one_row_each(fake, start_relay):
    import concurrent.futures

    relay = start_relay()
    junk = b'{"batch":[' + b",".join([b"{}"] * 100_000) + b"]}"
    assert len(junk) < 500 * 1024
    _post(relay, "/v1/track", b'{"event":"warm up","userId":"user-warm"}')
    with open("/proc/self/clear_refs", "w") as f:  # reset this process' peak RSS (VmHWM)
        f.write("5")
    before = _rss_kb("VmRSS")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _post(relay, "/v1/batch", junk), range(4)))
    peak = _rss_kb("VmHWM")
    for r in answers:
        assert r.status_code == 200
        assert len(r.content) < 4096  # a summary, not a 16 MB list
        body = r.json()
        assert body["rejected_count"] == 100_000
        assert body["rejected_reasons"] == {"too_many": 97_500, "invalid_message": 2_500}
        assert len(body["rejected"]) == 10
    _settled(relay)
    assert relay.service.relay.queue.stats().dead_letters == 4  # one record per request
    growth_mb = (peak - before) / 1024
    print(f"RSS before {before / 1024:.0f} MB, peak during 4 x 100,000-item junk batches +{growth_mb:.0f} MB")
    assert growth_mb <= 150


def test_rate_limit_per_write_key_answers_429_with_retry_after(fake, tmp_path, start_relay):
    cfg = relay_config(tmp_path / "data", fake.url)
    cfg.server.rate_limit_per_second = 1
    cfg.server.rate_limit_burst = 5
    relay = start_relay(config=cfg)
    batch = {"batch": [{"type": "track", "event": f"R {i}", "userId": "user-rl"} for i in range(5)]}
    assert httpx.post(relay.url + "/v1/batch", json=batch, auth=(WRITE_KEY, "")).status_code == 200
    r = httpx.post(relay.url + "/v1/batch", json=batch, auth=(WRITE_KEY, ""))
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1


def test_ingest_metrics_count_requests_and_rejections_by_reason(fake, start_relay):
    relay = start_relay()
    httpx.post(relay.url + "/v1/batch", json={"batch": [{}, 5, {"type": "track", "event": "M", "userId": "u"}]},
               auth=(WRITE_KEY, ""))
    httpx.post(relay.url + "/v1/track", content=b'{"event":NaN}', auth=(WRITE_KEY, ""))
    text = httpx.get(relay.url + "/metrics").text
    assert 'amprelay_ingest_requests_total{endpoint="batch",status="200"} 1.0' in text
    assert 'amprelay_ingest_requests_total{endpoint="track",status="400"} 1.0' in text
    assert 'amprelay_ingest_rejected_total{reason="invalid_message"} 1.0' in text
    assert 'amprelay_ingest_rejected_total{reason="not_an_object"} 1.0' in text


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=25,
)
_timestamps = st.sampled_from([None, "2024-03-15T16:23:05.123456", "2024-03-15T16:23:05.123456789Z",
                               "2024-03-15T16:23:05.000+09:00", "2024-03-15T16:23:05.123+0000", 1710520985,
                               1710520985123, "1710520985", "1710520985123"])
_counter = iter(range(10**9))
_SPEC_FIELDS = ["type", "event", "userId", "anonymousId", "messageId", "timestamp", "sentAt", "originalTimestamp",
                "context", "integrations", "properties", "traits", "groupId", "previousId", "name", "category"]


@st.composite
def _batch_items(draw) -> tuple[list, set[str]]:
    items, names = [], set()
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["message", "message", "junk", "shaped", "deep"]))
        if kind == "junk":
            items.append(draw(_json_values))
            continue
        if kind == "shaped":  # the spec's fields holding anything
            items.append(draw(st.dictionaries(st.sampled_from(_SPEC_FIELDS), _json_values, max_size=8)))
            continue
        n = next(_counter)
        name = f"H-{n}" + draw(st.text(max_size=3))
        msg = {"type": "track", "event": name, "userId": "user-" + draw(st.text(max_size=4)),
               "messageId": f"mid-{n}-" + draw(st.text(max_size=4)),  # unique: a dedupe window drops repeats
               "properties": {"x": draw(_json_values), "s": draw(st.text())},
               "context": {"extra": draw(_json_values)}, "extra": draw(_json_values)}
        ts = draw(_timestamps)
        if ts is not None:
            msg["timestamp"] = ts
        if kind == "deep":
            msg["properties"]["deep"] = _nested(draw(st.integers(50, 90)))
        items.append(msg)
        names.add(name)
    return items, names


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_batch_items())
def test_random_json_never_5xx_and_every_accepted_message_is_delivered(fake, start_relay, case):
    global _hypothesis_relay
    if _hypothesis_relay is None or _hypothesis_relay[0] is not fake:
        _hypothesis_relay = (fake, start_relay())
    relay = _hypothesis_relay[1]
    items, names = case
    r = _post(relay, "/v1/batch", json.dumps({"batch": items}).encode())  # lone surrogates as \udxxx escapes
    assert r.status_code == 200, r.text
    rejected = {x["index"] for x in r.json().get("rejected", [])}
    accepted = {items[i]["event"] for i in range(len(items)) if i not in rejected and isinstance(items[i], dict)
                and items[i].get("event") in names}
    assert len(rejected) == r.json().get("rejected_count", 0)
    wait_for(lambda: accepted <= {e["data"]["event_type"] for e in fake.events()})


_hypothesis_relay = None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | _json_values.map(lambda v: json.dumps(v).encode()),
       path=st.sampled_from(["/v1/batch", "/v1/track", "/v1/identify", "/v1/b"]))
def test_random_bodies_never_5xx(fake, start_relay, body, path):
    global _hypothesis_relay
    if _hypothesis_relay is None or _hypothesis_relay[0] is not fake:
        _hypothesis_relay = (fake, start_relay())
    r = _post(_hypothesis_relay[1], path, body)
    assert r.status_code < 500, (r.status_code, r.text)


# --- connection limits -----------------------------------------------------------------------

def _limited_relay(tmp_path, fake, start_relay, **server):
    cfg = relay_config(tmp_path / "data", fake.url)
    for key, value in server.items():
        setattr(cfg.server, key, value)
    return start_relay(config=cfg)


def _closed_after(sock: socket.socket, trickle: bytes = b"", every: float = 0.2, limit: float = 10.0) -> tuple[
        float, bytes]:
    """Send ``trickle`` a byte at a time (one every ``every`` s) until the server closes the
    connection; return the seconds it took and what the server sent."""
    sock.settimeout(every)
    start = time.monotonic()
    got = b""
    i = 0
    while time.monotonic() - start < limit:
        if i < len(trickle):
            try:
                sock.sendall(trickle[i:i + 1])
            except OSError:
                break
            i += 1
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    return time.monotonic() - start, got


def test_slowloris_idle_and_slow_body_connections_are_cut_within_their_timeouts(fake, tmp_path, start_relay):
    relay = _limited_relay(tmp_path, fake, start_relay, header_timeout_seconds=1.0, body_timeout_seconds=1.5,
                           keep_alive_timeout_seconds=1.0)
    host, port = _raw(relay.url)
    headers = (b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Authorization: Basic d2stZTJlLTAwMDE6\r\nX-Padding: " + b"a" * 200 + b"\r\n")
    with socket.create_connection((host, port)) as s:  # slowloris: headers a byte at a time
        took, got = _closed_after(s, headers)
    assert got.startswith(b"HTTP/1.1 408") and 0.9 <= took < 4
    with socket.create_connection((host, port)) as s:  # connects and says nothing
        took, got = _closed_after(s)
    assert got.startswith(b"HTTP/1.1 408") and 0.9 <= took < 4
    body = b'{"event": "Never Finished", "userId": "user-slow"}'
    with socket.create_connection((host, port)) as s:  # headers at once, then the body trickled
        s.sendall(headers + f"Content-Length: {len(body) + 500}\r\n\r\n".encode())
        took, got = _closed_after(s, body)
    assert got == b"" and 1.4 <= took < 5
    with socket.create_connection((host, port)) as s:  # keep-alive: a request, then idle
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        took, got = _closed_after(s)
    assert got.startswith(b"HTTP/1.1 200") and 0.9 <= took < 4
    with socket.create_connection((host, port)) as s:  # keep-alive: a request, then a second one trickled
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        took, got = _closed_after(s, b"\r\n" * 3 + headers, every=0.3)
    assert got.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" in got and 0.9 <= took < 4
    assert httpx.post(relay.url + "/v1/track", json={"event": "After", "userId": "user-after"},
                      auth=(WRITE_KEY, "")).status_code == 200
    wait_for(lambda: "After" in {e["data"]["event_type"] for e in fake.events()})
    assert "Never Finished" not in {e["data"]["event_type"] for e in fake.events()}
    text = httpx.get(relay.url + "/metrics").text
    assert 'amprelay_connections_closed_total{reason="header_timeout"} 3.0' in text
    assert 'amprelay_connections_closed_total{reason="body_timeout"} 1.0' in text


def test_a_header_block_over_64_kib_is_refused(fake, start_relay):
    relay = start_relay()
    host, port = _raw(relay.url)
    with socket.create_connection((host, port)) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(100):
                s.sendall(b"X-Junk: " + b"a" * 1000 + b"\r\n")
        except OSError:
            pass
        took, got = _closed_after(s)
    assert got.startswith(b"HTTP/1.1 431")


def test_connections_over_the_cap_are_closed_at_once(fake, tmp_path, start_relay):
    relay = _limited_relay(tmp_path, fake, start_relay, max_connections=20)
    host, port = _raw(relay.url)
    held = [socket.create_connection((host, port)) for _ in range(20)]
    try:
        wait_for(lambda: len(relay._server.server_state.connections) == 20)
        with socket.create_connection((host, port)) as extra:
            took, got = _closed_after(extra, limit=5)
        assert got == b"" and took < 4
        for s in held[:5]:
            s.close()
        wait_for(lambda: len(relay._server.server_state.connections) == 15)
        assert httpx.get(relay.url + "/health").status_code == 200
    finally:
        for s in held:
            s.close()
    assert 'amprelay_connections_closed_total{reason="over_limit"} 1.0' in httpx.get(relay.url + "/metrics").text


def test_health_answers_quickly_with_1000_hostile_connections_open(fake, start_relay):
    import resource
    import statistics

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:  # both ends of every connection live in this process
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    relay = start_relay()
    host, port = _raw(relay.url)
    hostile = []
    try:
        for i in range(1000):
            s = socket.create_connection((host, port))
            if i % 2:  # half slowloris (a partial header block), half silent
                s.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            hostile.append(s)
        wait_for(lambda: len(relay._server.server_state.connections) >= 1000)
        with httpx.Client() as client:
            client.get(relay.url + "/health")
            times = []
            for _ in range(20):
                start = time.perf_counter()
                assert client.get(relay.url + "/health").status_code == 200
                times.append(time.perf_counter() - start)
        median_ms = statistics.median(times) * 1000
        print(f"/health median {median_ms:.1f} ms, max {max(times) * 1000:.1f} ms with 1,000 hostile connections")
        assert median_ms < 50
    finally:
        for s in hostile:
            s.close()


def test_lone_surrogates_in_ids_names_and_keys_are_delivered(fake, start_relay):
    relay = start_relay()
    msgs = [
        {"type": "track", "event": "Ev \ud800", "userId": "user-\ud800", "messageId": "m-\udc00-1",
         "properties": {"k\ud800": 1}},
        {"type": "identify", "userId": "user-\udfff", "anonymousId": "anon-\ud800", "traits": {"t\udc00": "v\ud800"},
         "messageId": "m-\ud800-2"},
        {"type": "track", "event": "Plain After", "userId": "user-plain"},
    ]
    r = _post(relay, "/v1/batch", json.dumps({"batch": msgs}).encode())
    assert r.status_code == 200 and "rejected" not in r.json(), r.text
    wait_for(lambda: {"Ev \ud800", "Plain After"} <= {e["data"].get("event_type") for e in fake.events()})
    identified = wait_for(lambda: [e for e in fake.events(kind="identification")])
    assert identified[0]["data"]["user_properties"] == {"t\udc00": "v\ud800"}
    _settled(relay)
    assert relay.service.relay.queue.stats().dead_letters == 0
