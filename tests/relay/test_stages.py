"""The transform's stages, each alone: route -> match -> run -> record (amprelay.relay.stages)."""

from __future__ import annotations

import orjson

from amprelay.config import parse_config
from amprelay.delivery.metrics import Metrics
from amprelay.relay.compiled import CompiledDestination, compile_destination
from amprelay.relay.stages import (
    REJECTED_METHOD,
    Fired,
    ProcessResult,
    SubscriptionRun,
    matching,
    record_run,
    routed,
    run_subscription,
)

CONFIG = """
sources: [{name: web, write_key: wk}, {name: app, write_key: wk2}]
destinations:
  - name: amp
    settings: {apiKey: key-0000000000, secretKey: s}
    sources: [web]
    subscriptions:
      - {name: Tracks, trigger: 'type = "track"', action: logEventV2}
      - {name: Paused, trigger: 'type = "track"', action: logEvent, enabled: false}
      - {name: Broken, trigger: 'type = "track" and event = "Bad"', action: logEventV2,
         mapping: {event_type: {"@path": "$.properties.missing"}}}
  - name: all
    settings: {apiKey: key-1111111111, secretKey: s}
"""
NOW_MS = 1704067200000
CREATED = 1704067200.5


def destinations() -> list[CompiledDestination]:
    return [compile_destination(d) for d in parse_config(CONFIG).config.destinations]


def track(event: str = "Played") -> dict:
    return {"type": "track", "event": event, "userId": "user-1234", "messageId": "m-1",
            "timestamp": "2024-01-01T00:00:00.000Z"}


def test_routed_follows_the_destinations_sources():
    amp, everyone = destinations()
    assert routed(amp, "web") and not routed(amp, "app")
    assert routed(everyone, "web") and routed(everyone, "app")


def test_matching_keeps_the_subscriptions_order_and_skips_disabled_ones():
    amp, _ = destinations()
    assert [s.name for s in matching(amp, track())] == ["Tracks"]
    assert [s.name for s in matching(amp, track("Bad"))] == ["Tracks", "Broken"]
    assert matching(amp, {"type": "page", "userId": "user-1234"}) == []


def test_run_subscription_makes_units_or_names_the_error():
    amp, _ = destinations()
    tracks, broken = matching(amp, track("Bad"))
    ok = run_subscription(amp, tracks, track("Bad"), "m-1", NOW_MS, CREATED)
    assert ok.error is None and ok.subscription is tracks
    [unit] = ok.units
    assert unit.route.destination == "amp" and unit.created_at == CREATED and unit.message_id == "m-1"
    assert orjson.loads(unit.entry)["event_type"] == "Bad"
    failed = run_subscription(amp, broken, track("Bad"), "m-1", NOW_MS, CREATED)
    assert failed == SubscriptionRun(broken, [], "The root value is missing the required field 'event_type'.")


def test_record_run_adds_units_and_counts_them():
    amp, _ = destinations()
    [tracks] = matching(amp, track())
    run = run_subscription(amp, tracks, track(), "m-1", NOW_MS, CREATED)
    out, metrics = ProcessResult(), Metrics()
    fired = record_run(out, metrics, "amp", run, track(), "m-1", CREATED)
    assert fired == Fired("Tracks", "logEventV2", 1, None)
    assert out.units == run.units and out.matched == 1 and out.per_subscription == {"amp/Tracks": 1}
    assert out.dead == [] and out.errors == {}
    assert metrics.mapped.labels("amp", "logEventV2")._value.get() == 1


def test_record_run_of_a_failure_dead_letters_the_message_with_the_reason():
    amp, _ = destinations()
    broken = matching(amp, track("Bad"))[1]
    run = SubscriptionRun(broken, [], "Event Type is missing")
    out, metrics = ProcessResult(), Metrics()
    fired = record_run(out, metrics, "amp", run, track("Bad"), "m-1", CREATED)
    assert fired == Fired("Broken", "logEventV2", 0, "Event Type is missing")
    assert out.units == [] and out.errors == {"Broken (logEventV2): Event Type is missing": 1}
    [(unit, reason)] = out.dead
    assert reason == "Broken (logEventV2): Event Type is missing"
    assert unit.route.method == REJECTED_METHOD and orjson.loads(unit.entry) == track("Bad")
    assert unit.partition == "user-1234" and unit.message_id == "m-1"
    assert metrics.mapping_errors.labels("amp", "logEventV2")._value.get() == 1
