"""try_event: what the console's event tester shows equals what the relay queues."""

from __future__ import annotations

import orjson

from amprelay.config import parse_config
from amprelay.delivery.units import requests_to_units
from amprelay.relay.runtime import compile_destination
from amprelay.relay.trial import try_event

CONFIG = """
sources: [{name: web, write_key: wk}, {name: app, write_key: wk2}]
destinations:
  - name: amp
    settings: {apiKey: key-0000000000, secretKey: s}
    presets: true
    sources: [web]
    subscriptions:
      - {name: Paused, trigger: 'type = "track"', action: logEvent, enabled: false}
      - {name: Broken, trigger: 'type = "track" and event = "Bad"', action: logEventV2,
         mapping: {event_type: {"@path": "$.properties.missing"}}}
"""


def destinations():
    return [compile_destination(d) for d in parse_config(CONFIG).config.destinations]


def test_matching_subscriptions_and_their_requests_equal_the_queued_units():
    dests = destinations()
    event = {"type": "track", "event": "Played", "userId": "user-1234", "messageId": "m-1",
             "timestamp": "2024-01-01T00:00:00.000Z"}
    trial = try_event(dests, event, source="web", now_ms=1704067200000)
    assert trial.problems == [] and trial.message["messageId"] == "m-1" and "receivedAt" in trial.message
    [d] = trial.destinations
    fired = {s.name: s for s in d.fired}
    assert list(fired) == ["Track Calls"]
    off = next(s for s in d.subscriptions if s.name == "Paused")
    assert (off.enabled, off.matched) == (False, False)
    track = fired["Track Calls"]
    assert track.insert_ids_added
    shown = track.requests[0].json["events"]
    # The relay's own path: the same subscription's requests, turned into queue units.
    sub = next(s for s in dests[0].subscriptions if s.name == "Track Calls")
    units = requests_to_units("amp", "m-1", sub.run(trial.message, dests[0].settings, 1704067200000),
                              subscription="Track Calls", stable_insert_id=True)
    assert [orjson.loads(u.entry) for u in units] == shown


def test_skipped_destinations_rejections_and_action_errors():
    dests = destinations()
    off = try_event(dests, {"type": "track", "event": "A", "userId": "u", "integrations": {"All": False}})
    assert off.destinations[0].skipped == "the event's integrations object turns it off"
    other = try_event(dests, {"type": "track", "event": "A", "userId": "u"}, source="app")
    assert other.destinations[0].skipped == "it takes events only from web"
    bad = try_event(dests, {"type": "track", "userId": "u"})
    assert bad.message is None and bad.destinations == [] and "needs 'event'" in bad.problems[0]
    broken = try_event(dests, {"type": "track", "event": "Bad", "userId": "user-1234"})
    b = next(s for s in broken.destinations[0].subscriptions if s.name == "Broken")
    assert b.matched and b.requests == [] and "missing the required field 'event_type'" in b.error
