"""try_event: what the console's event tester shows equals what the relay queues."""

from __future__ import annotations

import orjson

from amprelay.config import parse_config
from amprelay.delivery.units import requests_to_units
from amprelay.relay.compiled import compile_destination
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


def test_ids_amplitude_will_refuse_are_warned_about():
    dests = destinations()
    short = try_event(dests, {"type": "track", "event": "Hi", "userId": "u1"}, source="web")
    track = next(s for s in short.destinations[0].fired if s.name == "Track Calls")
    assert track.warnings == ["events[0].user_id 'u1' is shorter than 5 characters (min_id_length): "
                              "Amplitude will refuse it"]
    ok = try_event(dests, {"type": "track", "event": "Hi", "userId": "user-12345"}, source="web")
    assert all(s.warnings == [] for s in ok.destinations[0].fired)
    # the Identify API gets the same check (form body, JSON identification)
    ident = try_event(dests, {"type": "identify", "userId": "abc", "traits": {"plan": "pro"}}, source="web")
    fired = {s.name: s for s in ident.destinations[0].fired}
    assert any("identification[0].user_id 'abc'" in w for s in fired.values() for w in s.warnings)


def test_a_lower_min_id_length_in_the_mapping_is_honoured():
    from amprelay.destination.request import AmplitudeRequest
    from amprelay.relay.trial import amplitude_refusals

    body = {"api_key": "k", "events": [{"user_id": "u1", "device_id": "d-1"}], "options": {"min_id_length": 2}}
    assert amplitude_refusals(AmplitudeRequest("POST", "https://api2.amplitude.com/2/httpapi", "json", json=body)) == []
    body["options"] = {"min_id_length": 4}
    assert amplitude_refusals(AmplitudeRequest("POST", "https://api2.amplitude.com/2/httpapi", "json", json=body)) == [
        "events[0].user_id 'u1' is shorter than 4 characters (min_id_length): Amplitude will refuse it",
        "events[0].device_id 'd-1' is shorter than 4 characters (min_id_length): Amplitude will refuse it"]
    form = {"api_key": "k", "mapping": '[{"user_id":"abcdef","global_user_id":"g1"}]'}
    assert amplitude_refusals(AmplitudeRequest("POST", "https://api.amplitude.com/usermap", "form", form=form)) == [
        "mapping[0].global_user_id 'g1' is shorter than 5 characters (min_id_length): Amplitude will refuse it"]
