"""With `delivery.amplitude_url`, EU destinations keep their region (the stand-in records them as
`eu`), and the console shows the endpoint actually used and Amplitude's full reasons, masked."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from amprelay.config import parse_config
from tests.console.test_console_http import TOKEN, csrf_of, logged_in
from tests.helpers.relay import WRITE_KEY, wait_for

NA_KEY = "na-key-00000000000000000000000001"
EU_KEY = "eu-key-00000000000000000000000002"


def test_eu_region_endpoint_and_full_reasons(tmp_path, fake, start_relay):
    cfg = parse_config(f"""
data_dir: {tmp_path / 'data'}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations:
  - {{name: amp-na, settings: {{apiKey: {NA_KEY}, secretKey: s1, endpoint: north_america}}, presets: true}}
  - {{name: amp-eu, settings: {{apiKey: {EU_KEY}, secretKey: s2, endpoint: europe}}, presets: true}}
server: {{port: 0}}
delivery: {{amplitude_url: "{fake.url}", linger_ms: 5}}
""", "<test>").config
    cfg.console.admin_token = SecretStr(TOKEN)
    relay = start_relay(config=cfg)

    def track(user: str) -> None:
        r = httpx.post(relay.url + "/v1/track", json={"event": "Played", "userId": user}, auth=(WRITE_KEY, ""))
        assert r.status_code == 200

    track("user-0001")
    wait_for(lambda: len(fake.events()) == 2)
    regions = {(e["api_key"], e["region"], e["path"]) for e in fake.events()}
    assert regions == {(NA_KEY, "na", "/2/httpapi"), (EU_KEY, "eu", "/2/httpapi")}

    c = logged_in(relay)
    page = c.get("/console/subscriptions").text
    assert f'<code class="sends-to">{fake.url}/eu</code>' in page
    assert f'<code class="sends-to">{fake.url}</code>' in page and "api2.amplitude.com" not in page
    tester = c.post("/console/tester", data={"event": '{"type": "track", "event": "E", "userId": "user-0002"}',
                                             "csrf": _csrf(c)}).text
    assert f"{fake.url}/eu/2/httpapi" in tester and f"{fake.url}/2/httpapi" in tester

    track("u")  # too short a user id: Amplitude answers 400 naming the field
    wait_for(lambda: "invalid id length" in c.get("/console/overview/panel").text)
    panel = c.get("/console/overview/panel").text
    assert "Invalid field values on some events: user_id (invalid id length)" in panel
    assert f"<code>{fake.url}/eu/2/httpapi</code>" in panel and f"<code>{fake.url}/2/httpapi</code>" in panel
    assert f'Sends to <code class="sends-to">{fake.url}/eu</code>' in panel

    fake.configure(invalid_api_keys=[EU_KEY])  # Amplitude quotes the key back: "Invalid API key: <key>"
    track("user-0003")
    wait_for(lambda: "Invalid API key" in c.get("/console/overview/panel").text)
    panel = c.get("/console/overview/panel").text
    assert "Invalid API key: ********" in panel and EU_KEY not in panel and NA_KEY not in panel


def _csrf(c: httpx.Client) -> str:
    return csrf_of(c.get("/console/tester").text)
