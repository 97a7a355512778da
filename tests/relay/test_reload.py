"""Reload's config swap: messages accepted before it are mapped by the old config (even when
still in the inbox), messages after it by the new one, each by exactly one; an invalid config is
refused and the running one keeps going."""

from __future__ import annotations

import orjson
import pytest

from amprelay.config import LoadedConfig, parse_config
from amprelay.relay.inbox import InboxProcessor
from amprelay.relay.reload import STATUS_FILE, Reloader
from amprelay.relay.runtime import Relay
from amprelay.store import open_queue
from amprelay.store.inbox import SQLiteInbox

WRITE_KEY = "wk-reload-1"


def config_text(data_dir, prefix: str, write_key: str = WRITE_KEY, action: str = "logEventV2") -> str:
    return f"""
data_dir: {data_dir}
sources: [{{name: web, write_key: {write_key}}}]
destinations:
  - name: amplitude
    settings: {{apiKey: reload-api-key-0000000001, secretKey: s}}
    subscriptions:
      - name: Tracks
        trigger: type = "track"
        action: {action}
        mapping: {{defaults: true, event_type: {{"@template": "{prefix} {{{{event}}}}"}}}}
"""


def event_types(units) -> list[tuple[str, str]]:
    out = []
    for u in units:
        entry = orjson.loads(u.entry)
        out.append((u.message_id, entry["event_type"]))
    return sorted(out)


@pytest.fixture
def relay(tmp_path):
    cfg = parse_config(config_text(tmp_path, "old"), "<test>").config
    queue = open_queue(cfg.queue, cfg.data_dir)
    inbox = SQLiteInbox(queue.db)  # the inbox shares the queue's file and transactions
    relay = Relay(cfg, queue, inbox=inbox)
    yield relay
    inbox.close()
    queue.close()


def test_inbox_rows_keep_the_config_they_were_accepted_under(relay, tmp_path):
    inbox = relay.inbox
    track = {"type": "track", "event": "Played", "userId": "u1"}
    relay.accept_sync("web", [{**track, "messageId": "before-1"}, {**track, "messageId": "before-2"}])
    relay.accept_sync("web", [{**track, "messageId": "before-3"}])
    relay.swap(parse_config(config_text(tmp_path, "new"), "<test>").config)
    relay.accept_sync("web", [{**track, "messageId": "after-1"}])
    relay.swap(parse_config(config_text(tmp_path, "newer"), "<test>").config)
    relay.accept_sync("web", [{**track, "messageId": "after-2"}])
    assert relay.generation == 3

    stored = []

    def store(result, consume):
        stored.extend(result.units)
        relay.store(result, consume)

    # One row a batch, the first batch failing once (a refused write): its retry still maps by
    # the old config, and nothing is mapped twice.
    fail = [True]

    def flaky_store(result, consume):
        if fail[0]:
            fail[0] = False
            raise OSError("disk full")
        store(result, consume)

    proc = InboxProcessor(inbox, relay.process_inbox, flaky_store)
    with pytest.raises(OSError):
        proc.drain_once(1)
    while proc.drain_once(1):
        pass
    assert event_types(stored) == [("after-1", "new Played"), ("after-2", "newer Played"),
                                   ("before-1", "old Played"), ("before-2", "old Played"),
                                   ("before-3", "old Played")]
    assert inbox.depth() == 0
    assert relay._held == []  # once the inbox is past them, the old configs are let go


def test_a_batch_spanning_the_swap_maps_each_row_by_its_own_config(relay, tmp_path):
    track = {"type": "track", "event": "E", "userId": "u1"}
    relay.accept_sync("web", [{**track, "messageId": "m1"}])
    relay.swap(parse_config(config_text(tmp_path, "new"), "<test>").config)
    relay.accept_sync("web", [{**track, "messageId": "m2"}])
    rows = [(i, s, orjson.loads(p), r) for i, s, p, r in relay.inbox.read(10)]
    assert event_types(relay.process_inbox(rows).units) == [("m1", "old E"), ("m2", "new E")]


def test_new_write_keys_apply_at_once_and_old_ones_stop(relay, tmp_path):
    assert relay.source_for_key(WRITE_KEY) is not None
    relay.swap(parse_config(config_text(tmp_path, "x", write_key="wk-reload-2"), "<test>").config)
    assert relay.source_for_key(WRITE_KEY) is None
    assert relay.source_for_key("wk-reload-2").name == "web"


def test_reloader_refuses_an_invalid_config_and_keeps_the_running_one(relay, tmp_path):
    path = tmp_path / "amprelay.yaml"

    def load() -> LoadedConfig:
        return parse_config(path.read_text(), str(path))

    reloader = Reloader(relay, load, tmp_path)
    path.write_text(config_text(tmp_path, "bad", action="noSuchAction"))
    result = reloader.reload()
    assert not result.ok and relay.generation == 1
    assert any("unknown action 'noSuchAction'" in e and "amprelay.yaml:" in e for e in result.errors)
    status = orjson.loads((tmp_path / STATUS_FILE).read_bytes())
    assert status["ok"] is False and status["seq"] == 1 and status["errors"] == result.errors
    rows = relay.process_inbox([(1, "web", [{"type": "track", "event": "E", "userId": "u", "messageId": "m"}],
                                 None)])
    assert event_types(rows.units) == [("m", "old E")]

    path.write_text(config_text(tmp_path, "good") + "server: {port: 9999}\n")
    result = reloader.reload()
    assert result.ok and result.generation == 2 and result.restart_needed == ["server"]
    assert relay.config.server.port == 8088  # what the relay listens on, until a restart
    assert orjson.loads((tmp_path / STATUS_FILE).read_bytes())["seq"] == 2


def test_without_an_inbox_one_request_is_mapped_by_one_config(tmp_path):
    """PostgreSQL's path (no inbox): a reload landing in the middle of a request's batch leaves
    the rest of that request on the config it started with."""
    cfg = parse_config(config_text(tmp_path, "old"), "<test>").config
    queue = open_queue(cfg.queue, cfg.data_dir)
    new = parse_config(config_text(tmp_path, "new"), "<test>").config

    class SwapOnFirstMessage:
        def __init__(self):
            self.swapped = False

        def on_message(self, *args):
            if not self.swapped:
                self.swapped = True
                relay.swap(new)

        def on_rejected(self, *args):
            pass

    relay = Relay(cfg, queue, observer=SwapOnFirstMessage())
    try:
        track = {"type": "track", "event": "E", "userId": "u1"}
        result = relay.accept_sync("web", [{**track, "messageId": f"m{i}"} for i in range(3)])
        assert relay.generation == 2
        assert event_types(result.units) == [("m0", "old E"), ("m1", "old E"), ("m2", "old E")]
        after = relay.accept_sync("web", [{**track, "messageId": "m3"}])
        assert event_types(after.units) == [("m3", "new E")]
    finally:
        queue.close()
