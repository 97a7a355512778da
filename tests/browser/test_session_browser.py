"""The session plugin in a real browser: analytics-next (from npm) with the plugin served by
`amprelay serve`, events through the relay's ingest to the local Amplitude."""

from __future__ import annotations

import time

import pytest

from tests.helpers.relay import WRITE_KEY, wait_for

SESSION_LENGTH_MS = 1500


def page_html(relay_url: str, cdn_url: str) -> str:
    host = relay_url.split("://", 1)[1]
    return f"""<!doctype html><html><head><title>amprelay session test</title></head><body>
<script>window.analytics = {{ _cdn: '{cdn_url}' }};</script>
<script src="/umd/index.js"></script>
<script src="{relay_url}/plugins/amplitude-session.js"></script>
<script>
AnalyticsNext.AnalyticsBrowser.load({{
  writeKey: '{WRITE_KEY}',
  cdnURL: '{cdn_url}',
  cdnSettings: {{ integrations: {{ 'Segment.io': {{ apiKey: '{WRITE_KEY}', apiHost: '{host}/v1', protocol: 'http' }} }},
                 remotePlugins: [] }},
  plugins: [AmprelayAmplitudeSession.plugin({{ sessionLength: {SESSION_LENGTH_MS}, allowSessionTracking: true }})]
}}).then(([a]) => {{ window.ajs = a; window.ready = true }}).catch((e) => {{ window.loadError = String(e) }})
</script></body></html>"""


def open_page(browser_page, url):
    browser_page.goto(url)
    browser_page.wait_for_function("window.ready || window.loadError", timeout=20000)
    assert browser_page.evaluate("window.loadError") is None


def events_named(fake, name):
    return [r["data"] for r in fake.events() if r["data"].get("event_type") == name]


@pytest.mark.slow
def test_session_plugin_in_chromium(browser, page_server, start_relay, fake):
    relay = start_relay()
    page_server.pages["/index.html"] = page_html(relay.url, page_server.url)
    page = browser.new_page()
    open_page(page, page_server.url + "/index.html")

    page.evaluate("ajs.track('First Click', {button: 'buy'})")
    first = wait_for(lambda: events_named(fake, "First Click"))[0]
    stored = int(page.evaluate("localStorage.getItem('analytics_session_id')"))
    assert first["session_id"] == stored
    assert abs(stored - time.time() * 1000) < 60_000  # the session id is its start time in ms
    started = wait_for(lambda: events_named(fake, "session_started"))
    assert started[0]["session_id"] == stored

    # a reload within the session keeps the id (it lives in localStorage)
    page.reload()
    page.wait_for_function("window.ready || window.loadError", timeout=20000)
    page.evaluate("ajs.page('Pricing')")
    viewed = wait_for(lambda: events_named(fake, "Viewed Pricing"))[0]
    assert viewed["session_id"] == stored

    # past the (shortened) session length a new session starts; the old one ends
    time.sleep(SESSION_LENGTH_MS / 1000 + 0.5)
    page.evaluate("ajs.track('After Break')")
    after = wait_for(lambda: events_named(fake, "After Break"))[0]
    assert after["session_id"] > stored
    assert int(page.evaluate("localStorage.getItem('analytics_session_id')")) == after["session_id"]
    # as Segment's plugin: an end event on the first visit and on expiry, both with the new id
    wait_for(lambda: len(events_named(fake, "session_ended")) >= 2)
    assert {e["session_id"] for e in events_named(fake, "session_ended")} == {stored, after["session_id"]}
    wait_for(lambda: len(events_named(fake, "session_started")) >= 2)
    assert {e["session_id"] for e in events_named(fake, "session_started")} == {stored, after["session_id"]}


@pytest.mark.slow
def test_excluded_events_carry_no_session(browser, page_server, start_relay, fake):
    relay = start_relay()
    page_server.pages["/index.html"] = page_html(relay.url, page_server.url)
    page = browser.new_page()
    open_page(page, page_server.url + "/index.html")
    page.evaluate("ajs.track('Opted In', {}, {integrations: {All: false, 'Actions Amplitude': true}})")
    page.evaluate("ajs.track('Everything Off', {}, {integrations: {All: false}})")
    opted = wait_for(lambda: events_named(fake, "Opted In"))[0]
    assert opted["session_id"] == int(page.evaluate("localStorage.getItem('analytics_session_id')"))
    time.sleep(0.5)
    assert events_named(fake, "Everything Off") == []  # All:false skips the destination entirely
