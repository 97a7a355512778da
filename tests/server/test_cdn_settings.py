"""The CDN settings analytics.js fetches from the relay (`GET /v1/projects/<writeKey>/settings`),
over a real socket from a running relay."""

from __future__ import annotations

import httpx
import pytest

from amprelay.config import ConfigError, parse_config
from tests.helpers.relay import API_KEY

WRITE_KEY = "wk-cdn-000001"
OTHER_KEY = "wk-cdn-000002"


def config_text(data_dir, amplitude_url: str, server: str = "{port: 0}") -> str:
    return f"""
data_dir: {data_dir}
sources:
  - name: web
    write_key: {WRITE_KEY}
    session_plugin:
      session_length_ms: 600000
      allow_session_tracking: true
      session_start_event: Session Start
      session_end_event: Session End
  - name: shop
    write_key: {OTHER_KEY}
    session_plugin: {{enabled: false}}
destinations:
  - name: amplitude
    settings: {{apiKey: {API_KEY}, secretKey: cdn-secret-never-shown, endpoint: north_america}}
    presets: true
server: {server}
delivery: {{amplitude_url: "{amplitude_url}"}}
"""


@pytest.fixture
def relay(start_relay, tmp_path, fake):
    return start_relay(config=parse_config(config_text(tmp_path / "data", fake.url)).config)


def test_settings_point_analytics_js_at_the_relay_and_its_session_plugin(relay):
    res = httpx.get(f"{relay.url}/v1/projects/{WRITE_KEY}/settings")
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/json"
    body = res.json()
    host = relay.url.split("://", 1)[1]
    assert body["integrations"] == {"Segment.io": {"apiKey": WRITE_KEY, "apiHost": f"{host}/v1", "protocol": "http"}}
    assert body["remotePlugins"] == [{
        "name": "Amplitude (Actions)", "creationName": "Actions Amplitude",
        "libraryName": "amprelayAmplitudeSessionDestination",
        "url": f"{relay.url}/plugins/amplitude-session.js",
        "settings": {"sessionLength": 600000, "allowSessionTracking": True,
                     "sessionStartEvent": "Session Start", "sessionEndEvent": "Session End"},
    }]
    assert body["metrics"] == {"sampleRate": 0}
    assert "cdn-secret-never-shown" not in res.text and API_KEY not in res.text
    plugin = httpx.get(body["remotePlugins"][0]["url"])
    assert plugin.status_code == 200 and "amprelayAmplitudeSessionDestination" in plugin.text


def test_settings_per_source(relay):
    body = httpx.get(f"{relay.url}/v1/projects/{OTHER_KEY}/settings").json()
    assert body["remotePlugins"] == []
    assert body["integrations"]["Segment.io"]["apiKey"] == OTHER_KEY


def test_unknown_write_key_is_404(relay):
    res = httpx.get(f"{relay.url}/v1/projects/not-a-key/settings")
    assert res.status_code == 404
    assert res.json()["code"] == "invalid_write_key"


def test_cors_for_a_page_on_another_origin(relay):
    res = httpx.get(f"{relay.url}/v1/projects/{WRITE_KEY}/settings", headers={"Origin": "https://shop.example"})
    assert res.headers["access-control-allow-origin"] == "*"


def test_the_host_the_client_used_is_the_api_host(relay):
    port = relay.url.rsplit(":", 1)[1]
    body = httpx.get(f"http://localhost:{port}/v1/projects/{WRITE_KEY}/settings").json()
    assert body["integrations"]["Segment.io"]["apiHost"] == f"localhost:{port}/v1"
    assert body["remotePlugins"][0]["url"] == f"http://localhost:{port}/plugins/amplitude-session.js"


def test_configured_public_url_wins(start_relay, tmp_path, fake):
    text = config_text(tmp_path / "data", fake.url, server='{port: 0, public_url: "https://relay.example.com/amp/"}')
    relay = start_relay(config=parse_config(text).config)
    body = httpx.get(f"{relay.url}/v1/projects/{WRITE_KEY}/settings").json()
    assert body["integrations"]["Segment.io"] == {"apiKey": WRITE_KEY, "apiHost": "relay.example.com/amp/v1",
                                                  "protocol": "https"}
    assert body["remotePlugins"][0]["url"] == "https://relay.example.com/amp/plugins/amplitude-session.js"


@pytest.mark.parametrize("bad", ["relay.example.com", "ftp://relay.example.com", "https://relay.example.com/?a=1"])
def test_public_url_must_be_an_http_url(tmp_path, bad):
    with pytest.raises(ConfigError) as exc:
        parse_config(config_text(tmp_path, "http://127.0.0.1:1", server=f'{{port: 0, public_url: "{bad}"}}'))
    assert "public_url" in str(exc.value)


def test_negative_session_length_is_refused(tmp_path):
    text = config_text(tmp_path, "http://127.0.0.1:1").replace("session_length_ms: 600000", "session_length_ms: -1")
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert "session_length_ms" in str(exc.value)


@pytest.mark.parametrize("host", ["evil.example/x", 'a"b', "relay.example.com:80:80", ""])
def test_a_host_header_that_is_not_a_host_is_refused(relay, host):
    res = httpx.get(f"{relay.url}/v1/projects/{WRITE_KEY}/settings", headers={"Host": host})
    assert res.status_code == 400 and res.json()["code"] == "bad_host"


def test_ipv6_host(relay):
    port = relay.url.rsplit(":", 1)[1]
    res = httpx.get(f"{relay.url}/v1/projects/{WRITE_KEY}/settings", headers={"Host": f"[::1]:{port}"})
    assert res.json()["integrations"]["Segment.io"]["apiHost"] == f"[::1]:{port}/v1"
