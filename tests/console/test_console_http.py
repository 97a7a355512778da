"""The console over HTTP against a real relay: access control, CSRF, masking, the pages'
content, the event tester, dead-letter actions."""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import SecretStr

from amprelay.console.auth import ConsoleAuth
from amprelay.console.charts import _nice, bar_chart
from amprelay.wiring import RelayService, ThreadedRelay
from tests.helpers.relay import API_KEY, WRITE_KEY, relay_config, wait_for

TOKEN = "tok-console-0123456789"
PAGES = ["/console", "/console/subscriptions", "/console/tester", "/console/live", "/console/dead-letters",
         "/console/live/rows", "/console/overview/panel"]


@pytest.fixture
def relay(tmp_path, fake, start_relay):
    cfg = relay_config(tmp_path / "data", fake.url)
    cfg.console.admin_token = SecretStr(TOKEN)
    return start_relay(config=cfg)


def logged_in(relay) -> httpx.Client:
    c = httpx.Client(base_url=relay.url, timeout=10)
    r = c.post("/console/login", data={"token": TOKEN})
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    return c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_console_is_off_without_a_token(start_relay):
    relay = start_relay()
    r = httpx.get(relay.url + "/console")
    assert r.status_code == 403 and "AMPRELAY_ADMIN_TOKEN" in r.text
    r = httpx.post(relay.url + "/console/login", data={"token": ""})
    assert r.status_code == 403


def test_token_from_the_environment(tmp_path, fake):
    cfg = relay_config(tmp_path / "data", fake.url)
    relay = ThreadedRelay(RelayService.build(cfg, environ={"AMPRELAY_ADMIN_TOKEN": "from-env-token"})).start()
    try:
        r = httpx.post(relay.url + "/console/login", data={"token": "from-env-token"})
        assert r.status_code == 303
    finally:
        relay.stop()


def test_every_page_needs_a_login(relay):
    for path in PAGES:
        r = httpx.get(relay.url + path)
        if path.endswith(("/rows", "/panel")):
            assert r.status_code == 401, path
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login"), path
    r = httpx.post(relay.url + "/console/dead-letters/purge", data={"scope": "matching"})
    assert r.status_code == 401
    bad = httpx.post(relay.url + "/console/login", data={"token": "wrong"})
    assert bad.status_code == 401 and "not the admin token" in bad.text and "set-cookie" not in bad.headers
    forged = httpx.get(relay.url + "/console", cookies={"amprelay_console": "9999999999.deadbeef"})
    assert forged.status_code == 303


def test_pages_render_and_never_show_secrets(relay, fake):
    httpx.post(relay.url + "/v1/track", json={"event": "Seen", "userId": "user-0001"}, auth=(WRITE_KEY, ""))
    wait_for(lambda: fake.events())
    c = logged_in(relay)
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 200, path
        assert API_KEY not in r.text and "e2e-secret" not in r.text and TOKEN not in r.text, path
        assert r.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in r.headers[
            "content-security-policy"]
    overview = c.get("/console").text
    assert "Last hour" in overview and "<svg" in overview
    subs = c.get("/console/subscriptions").text
    assert "Track Calls" in subs and "Order Completed Calls" in subs and "Viewed {{name}}" in subs
    assert "********" in subs  # the API key, masked
    live = c.get("/console/live").text
    assert "track Seen" in live and "user-0001" in live


def test_subscriptions_page_shows_the_config_warnings(tmp_path, fake):
    from amprelay.config import parse_config

    text = f"""
data_dir: {tmp_path / "data"}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations:
  - settings: {{apiKey: {API_KEY}, secretKey: s}}
    subscriptions:
      - name: Mixed
        trigger: 'type = "track" and event = "A" or event = "B"'
        action: logEventV2
console: {{admin_token: {TOKEN}}}
server: {{port: 0}}
delivery: {{amplitude_url: "{fake.url}"}}
"""
    loaded = parse_config(text, "amprelay.yaml")
    assert loaded.warnings
    relay = ThreadedRelay(RelayService.build(loaded.config, warnings=loaded.warnings)).start()
    try:
        page = logged_in(relay).get("/console/subscriptions").text
        assert "Configuration warnings" in page and "amprelay.yaml:" in page
        assert "Mixed" in page and "Log Event V2" in page
    finally:
        relay.stop()


def test_event_tester_takes_a_recent_event(relay, fake):
    httpx.post(relay.url + "/v1/screen", auth=(WRITE_KEY, ""),
               json={"name": "Home", "userId": "user-recent", "messageId": "recent-1"})
    wait_for(lambda: fake.events())
    c = logged_in(relay)
    page = c.get("/console/tester")
    assert 'value="recent-1"' in page.text
    prefilled = c.get("/console/tester", params={"message_id": "recent-1"}).text
    assert "user-recent" in prefilled
    r = c.post("/console/tester", data={"recent": "recent-1", "event": "", "csrf": csrf_of(page.text)})
    assert "Screen Calls" in r.text and "Viewed Home" in r.text


def test_bearer_token_for_scripts(relay):
    h = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(relay.url + "/console/live/rows", headers=h).status_code == 200
    assert httpx.get(relay.url + "/console/live/rows", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_posts_need_the_csrf_token_and_the_same_origin(relay):
    c = logged_in(relay)
    html = c.get("/console/tester").text
    token = csrf_of(html)
    event = '{"type": "track", "event": "X", "userId": "user-1234"}'
    assert c.post("/console/tester", data={"event": event}).status_code == 403
    assert c.post("/console/tester", data={"event": event, "csrf": "0" * 64}).status_code == 403
    r = c.post("/console/tester", data={"event": event, "csrf": token}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = c.post("/console/tester", data={"event": event, "csrf": token}, headers={"Origin": relay.url})
    assert r.status_code == 200 and "Track Calls" in r.text


def test_event_tester_shows_the_requests_delivery_sends(relay, fake):
    c = logged_in(relay)
    token = csrf_of(c.get("/console/tester").text)
    event = ('{"type": "identify", "userId": "user-5678", "traits": {"plan": "pro"}, "messageId": "msg-t1",'
             ' "timestamp": "2024-01-01T00:00:00.000Z"}')
    r = c.post("/console/tester", data={"event": event, "csrf": token})
    assert r.status_code == 200
    assert "Identify Calls" in r.text and f"{fake.url}/identify" in r.text  # where delivery sends it
    assert "api_key=********" in r.text  # the form body as sent, masked
    assert API_KEY not in r.text
    bad = c.post("/console/tester", data={"event": '{"type": "track", "userId": "u"}', "csrf": token})
    assert "Ingest would reject this event" in bad.text and "needs &#39;event&#39;" in bad.text
    broken = c.post("/console/tester", data={"event": "{", "csrf": token})
    assert broken.status_code == 400 and "not valid JSON" in broken.text


def test_dead_letters_retry_and_purge(relay, fake):
    fake.configure(silenced_devices=["dev-silenced-1"])
    for i in range(3):
        httpx.post(relay.url + "/v1/track", auth=(WRITE_KEY, ""), json={
            "event": f"Dead {i}", "userId": f"user-dead-{i}", "messageId": f"dl-{i}",
            "context": {"device": {"id": "dev-silenced-1"}}})
    queue = relay.service.relay.queue
    wait_for(lambda: queue.count_dead() == 3)
    c = logged_in(relay)
    page = c.get("/console/dead-letters", params={"reason": "silenced"})
    assert page.text.count('name="id" value=') == 3
    first_id = int(re.search(r'name="id" value="(\d+)"', page.text).group(1))
    detail = c.get(f"/console/dead-letters/{first_id}")
    assert detail.status_code == 200 and "silenced" in detail.text.lower()
    assert c.get("/console/dead-letters/999999").status_code == 404
    token = csrf_of(page.text)
    fake.configure(silenced_devices=[])
    r = c.post("/console/dead-letters/retry", data={"csrf": token, "scope": "selected", "id": str(first_id)})
    assert r.status_code == 303 and "Put+1+dead+letter" in r.headers["location"]
    wait_for(lambda: any(e["data"].get("event_type") == "Dead 0" for e in fake.events()))
    r = c.post("/console/dead-letters/purge", data={"csrf": token, "scope": "matching", "reason": "silenced"})
    assert r.status_code == 303 and "Purged+2" in r.headers["location"]
    assert queue.count_dead() == 0


def test_remote_clients_are_refused_unless_allowed():
    from starlette.requests import Request

    def req(host: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/console", "headers": [], "client": (host, 5000)})

    auth = ConsoleAuth("t")
    assert auth.client_allowed(req("127.0.0.1")) and auth.client_allowed(req("::1"))
    assert not auth.client_allowed(req("10.1.2.3"))
    assert ConsoleAuth("t", allow_remote=True).client_allowed(req("10.1.2.3"))


def test_login_cookie_expires_and_dies_with_a_new_token():
    auth = ConsoleAuth("t1", session_seconds=3600)
    cookie = auth.new_session(now=1000)
    assert auth.session_valid(cookie, now=1000 + 3599)
    assert not auth.session_valid(cookie, now=1000 + 3600)
    assert not ConsoleAuth("t2").session_valid(cookie, now=1001)


def test_chart_scale_and_titles():
    assert [_nice(n) for n in (0, 1, 3, 7, 11, 260)] == [1, 1, 5, 10, 20, 500]
    svg = bar_chart([("10:00", {"received": 4, "filtered": 1, "delivered": 3, "retrying": 0, "dead": 1})],
                    title="t")
    assert svg.startswith("<svg") and "4 received (1 filtered), 3 delivered, 0 retrying, 1 dead-lettered" in svg


def test_console_on_postgresql(tmp_path, fake, start_relay):
    """With PostgreSQL the relay maps inline (no inbox): the console sees the same things."""
    from tests.helpers.postgres import PG_DSN, PgSchemas, pg_available
    from tests.requirements import require

    require(pg_available(), f"PostgreSQL is not reachable at {PG_DSN}")
    schemas = PgSchemas()
    try:
        cfg = relay_config(tmp_path / "data", fake.url, extra=f'queue: {{backend: postgres, dsn: "{schemas.dsn()}"}}')
        cfg.console.admin_token = SecretStr(TOKEN)
        relay = start_relay(config=cfg)
        assert relay.service.relay.inbox is None
        fake.configure(silenced_devices=["dev-pg-silenced"])
        httpx.post(relay.url + "/v1/track", auth=(WRITE_KEY, ""), json={"event": "PG One", "userId": "user-pg-1",
                                                                          "messageId": "pg-1"})
        httpx.post(relay.url + "/v1/track", auth=(WRITE_KEY, ""), json={
            "event": "PG Dead", "userId": "user-pg-2", "messageId": "pg-2",
            "context": {"device": {"id": "dev-pg-silenced"}}})
        queue = relay.service.relay.queue
        wait_for(lambda: queue.count_dead() == 1 and fake.events())
        c = logged_in(relay)
        wait_for(lambda: "delivered" in c.get("/console/live/rows").text)
        live = c.get("/console/live/rows").text
        assert "track PG One" in live and "dead-lettered" in live
        overview = c.get("/console").text
        assert "silenced" in overview.lower()  # Amplitude's last error, with its reason
        dl = c.get("/console/dead-letters").text
        fake.configure(silenced_devices=[])
        r = c.post("/console/dead-letters/retry", data={"csrf": csrf_of(dl), "scope": "matching"})
        assert "Put+1+dead+letter" in r.headers["location"]
        wait_for(lambda: any(e["data"].get("event_type") == "PG Dead" for e in fake.events()))
        relay.stop()
    finally:
        schemas.drop()


def test_a_remote_user_behind_a_local_proxy_is_refused(relay):
    # uvicorn takes the client address from X-Forwarded-For when the peer is 127.0.0.1 (a proxy)
    r = httpx.get(relay.url + "/console/login", headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 403 and "localhost only" in r.text
    assert httpx.get(relay.url + "/console/login").status_code == 200


def test_event_tester_warns_about_ids_amplitude_refuses(relay):
    c = logged_in(relay)
    token = csrf_of(c.get("/console/tester").text)
    r = c.post("/console/tester", data={"event": '{"type": "track", "event": "Hi", "userId": "u1"}', "csrf": token})
    assert r.status_code == 200
    assert "events[0].user_id &#39;u1&#39; is shorter than 5 characters (min_id_length): Amplitude will refuse it" in r.text
    r = c.post("/console/tester", data={"event": '{"type": "track", "event": "Hi", "userId": "user-12345"}',
                                        "csrf": token})
    assert "Amplitude will refuse it" not in r.text
