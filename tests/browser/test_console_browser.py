"""The web console in a real browser: Debian's headless Chromium driven by Playwright against a
real relay (`RelayService`, the same app `amprelay serve` runs) and the local Amplitude, over
real sockets. A screenshot of each page lands in build/console-screenshots/ (or
$AMPRELAY_SCREENSHOTS)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.helpers.relay import API_KEY, WRITE_KEY, relay_config, wait_for

TOKEN = "console-admin-token-for-tests"
SHOTS = Path(os.environ.get("AMPRELAY_SCREENSHOTS") or Path(__file__).parents[2] / "build" / "console-screenshots")


@pytest.fixture
def console_relay(tmp_path, fake, start_relay):
    cfg = relay_config(tmp_path / "data", fake.url)
    cfg.console.admin_token = SecretStr(TOKEN)
    return start_relay(config=cfg)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def send(relay, path: str, body: dict) -> httpx.Response:
    r = httpx.post(f"{relay.url}/v1/{path}", json=body, auth=(WRITE_KEY, ""), timeout=10)
    r.raise_for_status()
    return r


def login(page, relay, screenshot: bool = False) -> None:
    page.goto(relay.url + "/console")
    assert "/console/login" in page.url  # not logged in: sent to the login page
    if screenshot:
        shot(page, "login")
    page.fill("#token", "not-the-token")
    page.press("#token", "Enter")  # the keyboard is enough
    page.wait_for_selector("#login-error")
    assert "not the admin token" in page.inner_text("#login-error")
    page.fill("#token", TOKEN)
    page.press("#token", "Enter")
    page.wait_for_url(re.compile(r"/console$"))


@pytest.mark.slow
def test_console_in_chromium(browser, console_relay, fake):
    relay = console_relay
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, relay, screenshot=True)

    # The keyboard: the first Tab reaches "Skip to content", which moves focus to the page.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # Overview: counts per destination, charts, queue numbers.
    send(relay, "track", {"event": "Warmup", "userId": "user-0001"})
    wait_for(lambda: fake.events())
    page.reload()
    page.wait_for_selector("svg.chart")
    assert page.locator("section.destination h2").first.inner_text() == "amplitude"
    shot(page, "overview")

    # Subscriptions: the presets with their triggers and mappings, defaults marked, keys masked.
    page.click("text=Subscriptions")
    page.wait_for_selector("details.sub")
    body = page.inner_text("main")
    assert 'type = "track" and event != "Order Completed"' in body
    assert "$.properties.revenue" in body and "default" in body
    assert API_KEY not in page.content()
    shot(page, "subscriptions")

    # Event tester: a track event -> Track Calls fires, the exact request shown, secrets masked.
    page.click("text=Event tester")
    page.fill("#event", '{"type": "track", "event": "Song Played", "userId": "user-1234", '
                        '"properties": {"title": "Blue Monday"}, "timestamp": "2024-01-01T00:00:00.000Z"}')
    page.click("#run-test")
    page.wait_for_selector("#results")
    results = page.inner_text("#results")
    assert "Track Calls" in results and "fires" in results
    assert "POST" in results and f"{fake.url}/2/httpapi" in results  # where delivery sends it (amplitude_url)
    assert '"event_type": "Song Played"' in results
    assert '"time": 1704067200000' in results
    assert '"api_key": "********"' in results
    assert API_KEY not in page.content()
    shot(page, "tester")

    # Live events: a new event appears without a reload, then shows it was delivered.
    page.click("text=Live events")
    page.wait_for_selector("#live-rows")
    page.evaluate("window.__notReloaded = true")
    r = send(relay, "track", {"event": "Live Check", "userId": "user-live-01", "messageId": "live-msg-0001"})
    assert r.json() == {"success": True}
    row = page.locator('tr[data-message-id="live-msg-0001"]')
    row.wait_for(timeout=15000)
    page.wait_for_function(
        "document.querySelector('tr[data-message-id=\"live-msg-0001\"] .status').textContent === 'delivered'",
        timeout=15000)
    assert "200" in row.inner_text() and "Track Calls" in row.inner_text()
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "live")

    # Dead letters: Amplitude silences the device -> dead letter; fix it, retry from the page.
    fake.configure(silenced_devices=["device-silenced-01"])
    send(relay, "track", {"event": "Will Die", "userId": "user-dead-01", "messageId": "dead-msg-0001",
                          "context": {"device": {"id": "device-silenced-01"}}})
    wait_for(lambda: relay.service.relay.queue.count_dead() >= 1)
    page.click("text=Dead letters")
    page.select_option("#f-kind", "events")
    page.click("text=Filter")
    row = page.locator("table.dead tbody tr", has_text="dead-msg-0001")
    row.wait_for()
    assert "silenced" in row.inner_text().lower()
    shot(page, "dead-letters")
    row.locator("a").first.click()  # inspect one
    page.wait_for_selector("#dl-reason")
    assert "silenced" in page.inner_text("#dl-reason").lower()
    assert "Will Die" in page.inner_text("pre.body")
    shot(page, "dead-letter")

    fake.configure(silenced_devices=[])
    page.click("#retry-one")
    page.wait_for_selector("#notice")
    assert "Put 1 dead letter(s) back" in page.inner_text("#notice")
    delivered = wait_for(lambda: [e for e in fake.events() if e["data"].get("event_type") == "Will Die"])
    assert delivered[0]["data"]["user_id"] == "user-dead-01"
    assert relay.service.relay.queue.count_dead() == 0

    # Log out: the pages are closed again.
    page.click("text=Log out")
    page.goto(relay.url + "/console/live")
    assert "/console/login" in page.url
    page.close()


@pytest.mark.slow
def test_console_select_and_purge_with_the_keyboard(browser, console_relay, fake):
    relay = console_relay
    fake.configure(silenced_devices=["dev-silenced-kb"])
    for i in range(3):
        send(relay, "track", {"event": f"Doomed {i}", "userId": f"user-kb-{i:04d}", "messageId": f"kb-{i}",
                              "context": {"device": {"id": "dev-silenced-kb"}}})
    wait_for(lambda: relay.service.relay.queue.count_dead() >= 3)
    page = browser.new_page()
    login(page, relay)
    page.goto(relay.url + "/console/dead-letters")
    page.on("dialog", lambda d: d.accept())  # the purge confirmation
    page.focus("#select-all")
    page.keyboard.press("Space")
    assert page.locator('input[name="id"]:checked').count() == 3
    page.focus("#purge-selected")
    page.keyboard.press("Enter")
    page.wait_for_selector("#notice")
    assert "Purged 3 dead letter(s)" in page.inner_text("#notice")
    assert relay.service.relay.queue.count_dead() == 0
    page.close()
