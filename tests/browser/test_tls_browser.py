"""The CDN settings fetched by Chromium over HTTPS from a relay with a self-signed certificate
made in the test. Chromium is told to trust that one public key
(`--ignore-certificate-errors-spki-list`), not to skip verification: a relay with another
self-signed certificate stays refused."""

from __future__ import annotations

import pytest

from amprelay.wiring import run_in_thread
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.relay import WRITE_KEY, relay_config, wait_for
from tests.requirements import require
from tests.tls import self_signed


@pytest.fixture
def tls_relay(tmp_path, fake):
    started = []

    def start(name: str):
        cert = self_signed(tmp_path, name)
        cfg = relay_config(tmp_path / f"data-{name}", fake.url)
        cfg.server.tls_cert, cfg.server.tls_key = str(cert.cert), str(cert.key)
        relay = run_in_thread(cfg)
        started.append(relay)
        return relay, cert

    yield start
    for relay in started:
        relay.stop()


@pytest.mark.slow
def test_analytics_js_over_https_with_a_trusted_certificate(tls_relay, page_server, fake):
    require(CHROMIUM, "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    relay, cert = tls_relay("trusted")
    stranger, _ = tls_relay("stranger")
    page_server.pages["/index.html"] = f"""<!doctype html><html><body>
<script src="/umd/index.js"></script>
<script>
AnalyticsNext.AnalyticsBrowser.load({{ writeKey: '{WRITE_KEY}', cdnURL: '{relay.url}' }})
  .then(([a]) => {{ window.ajs = a; window.ready = true }}).catch((e) => {{ window.loadError = String(e) }})
</script></body></html>"""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={cert.spki_sha256}"])
        try:
            page = browser.new_page()
            settings_responses = []
            page.on("response", lambda r: settings_responses.append(r) if "/settings" in r.url else None)
            page.goto(page_server.url + "/index.html")
            page.wait_for_function("window.ready || window.loadError", timeout=20000)
            assert page.evaluate("window.loadError || null") is None
            [settings] = settings_responses
            assert settings.url == f"{relay.url}/v1/projects/{WRITE_KEY}/settings" and settings.status == 200
            assert settings.json()["integrations"]["Segment.io"]["protocol"] == "https"
            page.evaluate("ajs.track('Secure Click')")
            event = wait_for(lambda: [r["data"] for r in fake.events() if r["data"].get("event_type") == "Secure Click"])[0]
            assert isinstance(event["session_id"], int)  # the plugin came over https too
            # verification is on: a certificate Chromium was not told about is refused
            refused = page.evaluate(f"fetch('{stranger.url}/health').then(() => 'fetched', (e) => 'refused')")
            assert refused == "refused"
            assert page.evaluate(f"fetch('{relay.url}/health').then((r) => r.status)") == 200
        finally:
            browser.close()
