"""analytics.js set up the way Segment's users set it up: the page gives analytics-next (from npm)
its write key and a CDN URL, nothing else. The relay's CDN settings make it send to the relay and
load the relay's session plugin by itself; the events reach the local Amplitude with session ids."""

from __future__ import annotations

import time

import pytest

from amprelay.config import parse_config
from tests.helpers.relay import API_KEY, wait_for

WRITE_KEY = "wk-cdn-browser-01"
MIN = 60_000


def relay_config(data_dir, amplitude_url: str, plugin: str):
    return parse_config(f"""
data_dir: {data_dir}
sources:
  - name: web
    write_key: {WRITE_KEY}
    session_plugin: {plugin}
destinations:
  - name: amplitude
    settings: {{apiKey: {API_KEY}, secretKey: secret, endpoint: north_america}}
    presets: true
server: {{port: 0}}
delivery: {{amplitude_url: "{amplitude_url}", linger_ms: 5}}
""").config


def page_html(cdn_url: str) -> str:
    return f"""<!doctype html><html><body>
<script src="/umd/index.js"></script>
<script>
AnalyticsNext.AnalyticsBrowser.load({{ writeKey: '{WRITE_KEY}', cdnURL: '{cdn_url}' }})
  .then(([a]) => {{ window.ajs = a; window.ready = true }}).catch((e) => {{ window.loadError = String(e) }})
</script></body></html>"""


def events_named(fake, name):
    return [r["data"] for r in fake.events() if r["data"].get("event_type") == name]


def open_page(browser, page_server, relay_url: str):
    page_server.pages["/index.html"] = page_html(relay_url)
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_server.url + "/index.html")
    page.wait_for_function("window.ready || window.loadError", timeout=20000)
    assert page.evaluate("window.loadError || null") is None
    return page, requests


@pytest.mark.slow
def test_only_write_key_and_cdn_url_on_the_page(browser, page_server, start_relay, fake, tmp_path):
    plugin = "{session_length_ms: 1800000, allow_session_tracking: true}"
    relay = start_relay(config=relay_config(tmp_path / "data", fake.url, plugin))
    page, requests = open_page(browser, page_server, relay.url)
    t0 = int(time.time() * 1000)
    page.clock.set_fixed_time(t0 / 1000)

    page.evaluate("ajs.track('Signed Up', {plan: 'pro'})")
    signed = wait_for(lambda: events_named(fake, "Signed Up"))[0]
    assert signed["session_id"] == t0
    page.evaluate("ajs.page('Pricing')")
    assert wait_for(lambda: events_named(fake, "Viewed Pricing"))[0]["session_id"] == t0

    # half an hour later, a new session; as Segment's plugin, end and start events carry the new id
    page.clock.set_fixed_time((t0 + 31 * MIN) / 1000)
    page.evaluate("ajs.track('Came Back')")
    assert wait_for(lambda: events_named(fake, "Came Back"))[0]["session_id"] == t0 + 31 * MIN
    wait_for(lambda: len(events_named(fake, "session_started")) == 2 and len(events_named(fake, "session_ended")) == 2)
    assert sorted(e["session_id"] for e in events_named(fake, "session_started")) == [t0, t0 + 31 * MIN]
    assert sorted(e["session_id"] for e in events_named(fake, "session_ended")) == [t0, t0 + 31 * MIN]

    # everything the page fetched or sent came from its own server or the relay
    assert {u.split("/")[2] for u in requests} == {page_server.url.split("/")[2], relay.url.split("/")[2]}
    assert f"{relay.url}/v1/projects/{WRITE_KEY}/settings" in requests
    assert f"{relay.url}/plugins/amplitude-session.js" in requests


@pytest.mark.slow
def test_session_events_off_by_default(browser, page_server, start_relay, fake, tmp_path):
    relay = start_relay(config=relay_config(tmp_path / "data", fake.url, "{}"))
    page, _ = open_page(browser, page_server, relay.url)
    page.evaluate("ajs.track('Opened')")
    opened = wait_for(lambda: events_named(fake, "Opened"))[0]
    assert isinstance(opened["session_id"], int) and opened["session_id"] > 0
    page.evaluate("ajs.track('Closed')")
    assert wait_for(lambda: events_named(fake, "Closed"))[0]["session_id"] == opened["session_id"]
    assert events_named(fake, "session_started") == events_named(fake, "session_ended") == []


@pytest.mark.slow
def test_plugin_turned_off_for_the_source(browser, page_server, start_relay, fake, tmp_path):
    relay = start_relay(config=relay_config(tmp_path / "data", fake.url, "{enabled: false}"))
    page, requests = open_page(browser, page_server, relay.url)
    page.evaluate("ajs.track('No Session')")
    event = wait_for(lambda: events_named(fake, "No Session"))[0]
    assert "session_id" not in event
    assert not any(u.endswith("/plugins/amplitude-session.js") for u in requests)
