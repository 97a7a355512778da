"""messageId dedupe at ingest over real sockets: an SDK resending a batch (after a timeout) gets
200 and its messages are delivered once, identifies included (they have no insert_id); the window
survives a restart; `ingest.dedupe_window: 0` turns it off."""

from __future__ import annotations

import httpx

from tests.helpers.relay import WRITE_KEY, wait_for


def batch(prefix: str) -> dict:
    return {"batch": [
        {"type": "identify", "userId": "user-00001", "messageId": f"{prefix}-identify", "traits": {"plan": "pro"}},
        {"type": "track", "userId": "user-00001", "event": "Bought", "messageId": f"{prefix}-track"},
        {"type": "track", "userId": "user-00001", "event": "Bought", "messageId": f"{prefix}-track"},  # twice
    ]}


def post(relay, body) -> None:
    r = httpx.post(relay.url + "/v1/batch", json=body, auth=(WRITE_KEY, ""), timeout=10)
    assert r.status_code == 200 and r.json() == {"success": True}, r.text


def deduplicated(relay) -> float:
    text = httpx.get(relay.url + "/metrics", timeout=10).text
    line = next((ln for ln in text.splitlines() if ln.startswith('amprelay_messages_deduplicated_total{source="web"}')),
                None)
    return float(line.split()[-1]) if line else 0.0


def counts(fake) -> tuple[int, int]:
    return len(fake.events(path="/identify")), len(fake.events(path="/2/httpapi"))


def test_a_resent_batch_is_delivered_once_even_after_a_restart(start_relay, fake):
    relay = start_relay()
    post(relay, batch("resent"))
    wait_for(lambda: counts(fake) == (1, 1))
    post(relay, batch("resent"))  # the SDK timed out and sends the same batch again
    wait_for(lambda: deduplicated(relay) == 4)  # one in the first batch, three in the second
    relay.stop()
    relay = start_relay()
    post(relay, batch("resent"))  # and again after a restart
    wait_for(lambda: deduplicated(relay) == 3)
    post(relay, batch("fresh"))
    wait_for(lambda: counts(fake) == (2, 2))
    assert counts(fake) == (2, 2)


def test_a_window_of_zero_turns_it_off(start_relay, fake):
    relay = start_relay(extra="ingest: {dedupe_window: 0}")
    post(relay, batch("off"))
    post(relay, batch("off"))
    wait_for(lambda: counts(fake) == (2, 4))
    assert deduplicated(relay) == 0
