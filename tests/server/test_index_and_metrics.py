"""`GET /` answers a small JSON index whose links all work; `/metrics` has no `_created` series."""

from __future__ import annotations

import httpx

from amprelay import __version__
from tests.helpers.relay import WRITE_KEY, wait_for


def test_index_links_and_metrics_without_created(start_relay, fake):
    relay = start_relay()
    r = httpx.get(relay.url + "/")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"name": "amprelay", "version": __version__,
                        "links": {"health": "/health", "ready": "/ready", "metrics": "/metrics",
                                  "console": "/console"}}
    statuses = {name: httpx.get(relay.url + path).status_code for name, path in r.json()["links"].items()}
    assert statuses == {"health": 200, "ready": 200, "metrics": 200, "console": 403}  # console: no token set
    assert httpx.post(relay.url + "/").status_code == 405

    httpx.post(relay.url + "/v1/track", json={"event": "E", "userId": "user-0001"}, auth=(WRITE_KEY, ""))
    wait_for(lambda: fake.events())
    text = httpx.get(relay.url + "/metrics").text
    samples = [line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")]
    assert any(s.endswith("_total") for s in samples)  # counters are there...
    assert not [s for s in samples if s.endswith("_created")]  # ...without their _created twins
    assert "_created" not in text
