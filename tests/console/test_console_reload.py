"""The console's "Reload the config" button: a POST with the CSRF token reloads; a broken config
shows its errors and the running one stays."""

from __future__ import annotations

import httpx
import yaml
from pydantic import SecretStr

from amprelay.config import parse_config
from amprelay.wiring import RelayService, ThreadedRelay
from tests.console.test_console_http import TOKEN, csrf_of, logged_in
from tests.helpers.relay import relay_config


def test_reload_button(tmp_path, fake):
    cfg = relay_config(tmp_path / "data", fake.url, presets=False, extra="""    subscriptions:
      - {name: Tracks, trigger: 'type = "track"', action: logEventV2}""")
    cfg.console.admin_token = SecretStr(TOKEN)
    texts = {"current": None}

    def load():
        loaded = parse_config(texts["current"], "amprelay.yaml")
        loaded.config.console.admin_token = SecretStr(TOKEN)
        loaded.config.server.port = 0
        return loaded

    base = cfg.model_dump(mode="json")
    base["sources"][0]["write_key"] = cfg.sources[0].write_key.get_secret_value()
    base["console"]["admin_token"] = None
    relay = ThreadedRelay(RelayService.build(cfg, load=load)).start()
    try:
        c = logged_in(relay)
        page = c.get("/console/subscriptions")
        assert 'id="reload-config"' in page.text and "Config generation 1" in page.text
        csrf = csrf_of(page.text)

        # without the CSRF token: refused, nothing reloaded
        assert c.post("/console/reload", data={}).status_code == 403

        broken = dict(base, destinations=[dict(base["destinations"][0], subscriptions=[
            {"name": "Tracks", "trigger": 'type = "track"', "action": "noSuchAction"}])])
        texts["current"] = yaml.safe_dump(broken)
        r = c.post("/console/reload", data={"csrf": csrf})
        assert r.status_code == 422
        assert "the running one is kept" in r.text and "unknown action &#39;noSuchAction&#39;" in r.text
        assert "Config generation 1" in c.get("/console/subscriptions").text

        renamed = dict(base, destinations=[dict(base["destinations"][0], subscriptions=[
            {"name": "Renamed Tracks", "trigger": 'type = "track"', "action": "logEventV2"}])])
        texts["current"] = yaml.safe_dump(renamed)
        r = c.post("/console/reload", data={"csrf": csrf})
        assert r.status_code == 200 and "reloaded: config generation 2" in r.text
        page = c.get("/console/subscriptions").text
        assert "Config generation 2" in page and "Renamed Tracks" in page
        # scripts: the admin token as a bearer header, no CSRF token needed
        r = httpx.post(relay.url + "/console/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and "generation 3" in r.text
    finally:
        relay.stop()
