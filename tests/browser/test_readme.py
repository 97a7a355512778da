"""The README's snippets, run as a reader would paste them: the config file (validated by
`amprelay validate`, then served), the curl example (through real curl) and the analytics.js
snippet (in Chromium, analytics-next served locally instead of from the public CDN). Each one's
event must reach the local Amplitude."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amprelay.config import parse_config
from amprelay.wiring import run_in_thread
from tests.helpers.relay import wait_for
from tests.requirements import require

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
README_URL = "http://127.0.0.1:8088"
ENV = {"AMPRELAY_WRITE_KEY": "my-write-key", "AMPLITUDE_API_KEY": "readme-api-key-0000000001",
       "AMPLITUDE_SECRET_KEY": "readme-secret"}


def section(heading: str) -> str:
    start = README.index(f"\n## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def config_text() -> str:
    [text] = [b for b in blocks(section("Run it"), "yaml") if "sources:" in b]
    return text


@pytest.fixture
def readme_relay(tmp_path, fake):
    cfg = parse_config(config_text(), "README.md", env=ENV).config
    cfg.data_dir = str(tmp_path / "data")  # as written, ./data in the working directory
    cfg.server.port = 0
    cfg.delivery.amplitude_url = fake.url
    relay = run_in_thread(cfg)
    yield relay
    relay.stop()


def test_the_config_validates(tmp_path):
    path = tmp_path / "amprelay.yaml"
    path.write_text(config_text())
    res = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "validate", str(path)], capture_output=True, text=True,
                         env={**os.environ, **ENV}, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    cfg = parse_config(config_text(), env=ENV).config
    assert any(s.trigger == 'type = "alias"' for d in cfg.destinations for s in d.subscriptions)


def test_the_curl_example_reaches_amplitude(readme_relay, fake):
    curl = shutil.which("curl")
    require(curl, "curl is not installed")
    [command] = re.findall(r"`(curl [^`]+)`", section("Run it"))
    assert README_URL in command
    res = subprocess.run(["bash", "-c", command.replace(README_URL, readme_relay.url) + " -sS -w ' %{http_code}'"],
                         capture_output=True, text=True, env={**os.environ, **ENV}, timeout=30)
    assert res.stdout.endswith(" 200"), res.stdout + res.stderr
    event = wait_for(lambda: [r["data"] for r in fake.events() if r["data"].get("event_type") == "Hi"])[0]
    assert event["user_id"] == "user-12345"


def test_an_alias_call_from_the_config_reaches_amplitude(readme_relay, fake):
    import httpx

    res = httpx.post(f"{readme_relay.url}/v1/alias", auth=(ENV["AMPRELAY_WRITE_KEY"], ""),
                     json={"userId": "user-67890", "previousId": "user-12345"})
    assert res.status_code == 200
    mapped = wait_for(lambda: fake.events(kind="mapping"))
    assert mapped[0]["data"]["user_id"] == "user-12345" and mapped[0]["data"]["global_user_id"] == "user-67890"


@pytest.mark.slow
def test_the_html_snippet_loads_and_sends(browser, page_server, readme_relay, fake):
    [html] = blocks(section("Sessions"), "html")
    src = re.search(r'<script src="(https://cdn\.jsdelivr\.net/npm/@segment/analytics-next@[^"]+/dist/umd/index\.js)"',
                    html)
    assert src, "the snippet loads analytics-next's UMD bundle (index.js defines AnalyticsNext)"
    page_html = html.replace(src.group(1), "/umd/index.js").replace(README_URL, readme_relay.url)
    page_server.pages["/index.html"] = f"<!doctype html><html><body>{page_html}</body></html>"
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_server.url + "/index.html")
    viewed = wait_for(lambda: [r["data"] for r in fake.events() if r["data"].get("event_type") == "Viewed Home"])[0]
    assert isinstance(viewed["session_id"], int)  # the session plugin came with the CDN settings
    assert errors == []
