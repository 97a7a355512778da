"""HTTPS: `amprelay serve --tls-cert/--tls-key` (and server.tls_cert / tls_key in the config)
with a self-signed certificate made in the test; clients that verify it."""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from amprelay.config import ConfigError, parse_config
from tests.helpers.relay import AMPRELAY, API_KEY, WRITE_KEY, free_port, relay_config, wait_for
from tests.tls import self_signed

segment = pytest.importorskip("segment.analytics", reason="segment-analytics-python is not installed")
segment_request = pytest.importorskip("segment.analytics.request")


@pytest.fixture
def serve_tls(tmp_path, fake):
    """`amprelay serve --tls-cert --tls-key` as a process; yields (url, certificate)."""
    cert = self_signed(tmp_path)
    port = free_port()
    config = tmp_path / "amprelay.yaml"
    config.write_text(f"""
data_dir: {tmp_path / "data"}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations:
  - {{name: amplitude, presets: true, settings: {{apiKey: {API_KEY}, secretKey: s, endpoint: north_america}}}}
delivery: {{amplitude_url: "{fake.url}", linger_ms: 5}}
""")
    proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config), "--port", str(port),
                             "--tls-cert", str(cert.cert), "--tls-key", str(cert.key)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"https://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(url + "/health", verify=ssl.create_default_context(cafile=str(cert.cert))).status_code
        except httpx.HTTPError:
            assert proc.poll() is None, proc.stdout.read()
            return None

    try:
        wait_for(up, timeout=30)
        yield url, cert
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        assert f"listening on https://127.0.0.1:{port}" in out


def test_official_python_sdk_over_https(serve_tls, fake, monkeypatch):
    url, cert = serve_tls
    errors: list[Exception] = []
    # the SDK (requests) verifies against the default CA bundle: our certificate is not in it
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(Path(ssl.get_default_verify_paths().cafile or os.devnull)))
    untrusting = segment.Client(write_key=WRITE_KEY, host=url, sync_mode=True, max_retries=0,
                                on_error=lambda e, batch: errors.append(e))
    try:
        untrusting.track("tls-user-0001", "Refused")
    except Exception as exc:  # sync mode raises what the send raised
        errors.append(exc)
    assert errors and "CERTIFICATE_VERIFY_FAILED" in repr(errors[0])

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert.cert))  # now it trusts the relay's certificate
    errors.clear()
    client = segment.Client(write_key=WRITE_KEY, host=url, sync_mode=True, max_retries=0,
                            on_error=lambda e, batch: errors.append(e))
    client.track("tls-user-0001", "Over HTTPS", {"secure": True})
    client.flush()
    segment_request._session.close()  # the SDK's shared keep-alive pool: let the relay stop at once
    assert errors == []
    event = wait_for(lambda: [r["data"] for r in fake.events() if r["data"].get("event_type") == "Over HTTPS"])[0]
    assert event["user_id"] == "tls-user-0001"


def test_settings_over_https_name_the_https_api_host(serve_tls):
    url, cert = serve_tls
    body = httpx.get(f"{url}/v1/projects/{WRITE_KEY}/settings",
                     verify=ssl.create_default_context(cafile=str(cert.cert))).json()
    assert body["integrations"]["Segment.io"]["protocol"] == "https"
    assert body["remotePlugins"][0]["url"] == f"{url}/plugins/amplitude-session.js"


def test_tls_in_the_config_file(tmp_path, fake):
    from amprelay.wiring import run_in_thread

    cert = self_signed(tmp_path)
    cfg = relay_config(tmp_path / "data", fake.url)
    cfg.server.tls_cert, cfg.server.tls_key = str(cert.cert), str(cert.key)
    relay = run_in_thread(cfg)
    try:
        assert relay.url.startswith("https://")
        ok = httpx.get(relay.url + "/health", verify=ssl.create_default_context(cafile=str(cert.cert)))
        assert ok.status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(relay.url + "/health")  # the system's CAs don't know it
    finally:
        relay.stop()


def test_tls_settings_are_checked_up_front(tmp_path):
    cert = self_signed(tmp_path)
    base = "sources: [{name: w, write_key: k}]\nserver:\n"
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        parse_config(base + f"  tls_cert: {cert.cert}\n")
    with pytest.raises(ConfigError, match="cannot read"):
        parse_config(base + f"  tls_cert: {cert.cert}\n  tls_key: {tmp_path / 'missing.key'}\n")
    other = self_signed(tmp_path, "other")
    with pytest.raises(ConfigError, match="not a usable PEM certificate and private key pair"):
        parse_config(base + f"  tls_cert: {cert.cert}\n  tls_key: {other.key}\n")
    assert parse_config(base + f"  tls_cert: {cert.cert}\n  tls_key: {cert.key}\n").config.server.tls_key


def test_serve_refuses_a_bad_tls_flag_clearly(tmp_path):
    res = subprocess.run([*AMPRELAY, "serve", "--tls-cert", str(tmp_path / "nope.crt")], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path,
                         env={**os.environ, "AMPRELAY_WRITE_KEY": "k", "AMPLITUDE_API_KEY": "a",
                              "AMPLITUDE_SECRET_KEY": "s"})
    assert res.returncode == 1
    assert "command line (--tls-key): tls_cert and tls_key go together" in res.stderr and "Traceback" not in res.stderr
