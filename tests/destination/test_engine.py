"""The compiled subscription API (amprelay.engine) and the conformance harness (amprelay.conformance)."""

import pytest

from amprelay.conformance import run_case
from amprelay.destination import PRESETS
from amprelay.engine import (
    ActionError,
    CompiledAction,
    InvalidEventError,
    InvalidMappingError,
    MappingEvaluationError,
    PayloadError,
    Subscription,
    TooManySubscriptionsError,
    UnknownActionError,
    compile_subscription,
    compile_subscriptions,
)
from tests.destination.helpers import NOW_MS, SETTINGS, track


def preset_subscription(name: str, **changes) -> Subscription:
    p = next(p for p in PRESETS if p.name == name)
    fields = {"name": p.name, "trigger": p.subscribe, "action_key": p.action, "mapping": p.mapping}
    fields.update(changes)
    return Subscription(**fields)


def test_compiled_preset_matches_and_runs():
    sub = compile_subscription(preset_subscription("Track Calls"))
    assert sub.name == "Track Calls" and sub.action_key == "logEventV2" and sub.trigger_error is None
    assert sub.matches(track())
    assert not sub.matches(track(event="Order Completed"))
    assert not sub.matches({"type": "page"})
    (request,) = sub.run(track(), SETTINGS, NOW_MS)
    assert request.json["events"][0]["event_type"] == "Song Played"


def test_disabled_subscription_never_matches():
    assert not compile_subscription(preset_subscription("Track Calls", enabled=False)).matches(track())


def test_invalid_trigger_never_matches_and_says_why():
    sub = compile_subscription(preset_subscription("Track Calls", trigger="((type = \"track\"))"))
    assert sub.trigger_error
    assert not sub.matches(track())


def test_mapping_none_is_the_default_mapping():
    sub = compile_subscription(Subscription("t", 'type = "track"', "logEventV2", None))
    assert sub.run(track(), SETTINGS, NOW_MS)[0].json["events"][0]["user_id"] == "user-1234"


def test_compile_errors():
    with pytest.raises(UnknownActionError, match="Unknown action: nope"):
        compile_subscription(Subscription("x", 'type = "track"', "nope"))
    with pytest.raises(InvalidMappingError, match="user_id"):
        CompiledAction("logEventV2", {"user_id": {"@template": 5}})


def test_run_errors_are_action_errors_with_messages():
    action = CompiledAction("logEventV2", {"event_type": {"@path": "$.event"}, "user_id": {"@if": {"then": "x"}}})
    with pytest.raises(MappingEvaluationError) as info:
        action.run(track(), SETTINGS, NOW_MS)
    assert isinstance(info.value, ActionError) and info.value.message
    with pytest.raises(PayloadError, match="event_type"):
        CompiledAction("logEventV2", None).run(track(event=None), SETTINGS, NOW_MS)
    with pytest.raises(InvalidEventError):
        CompiledAction("logEventV2", None).run(None, SETTINGS, NOW_MS)


def test_null_context_or_personas_fail_like_actions_core():
    with pytest.raises(InvalidEventError, match="personas"):
        CompiledAction("mapUser", None).run({"type": "alias", "userId": "u", "context": None}, SETTINGS, NOW_MS)
    with pytest.raises(InvalidEventError):
        CompiledAction("mapUser", None).run({"userId": "u", "context": {"personas": None}}, SETTINGS, NOW_MS)
    assert CompiledAction("mapUser", None).run({"userId": "u", "context": "x"}, SETTINGS, NOW_MS)


def test_now_defaults_to_the_clock():
    mapping = {"group_type": "org", "group_value": "acme", "user_id": {"@path": "$.userId"}}
    identify, _ = CompiledAction("groupIdentifyUser", mapping).run({"userId": "u"}, SETTINGS)
    assert identify.decoded_body()["identification"][0]["time"] > NOW_MS


def test_run_case_kinds():
    answer = run_case({"id": "a", "kind": "action", "action": "mapUser", "settings": {}, "mapping": None,
                       "event": {"type": "alias", "userId": "u", "previousId": "p"}}, NOW_MS)
    assert answer == {"id": "a", "error": None, "requests": [{
        "method": "POST", "url": "https://api.amplitude.com/usermap",
        "body": {"api_key": "undefined", "mapping": [{"user_id": "p", "global_user_id": "u"}]}}]}
    bad = run_case({"id": "b", "kind": "action", "action": "nope", "settings": {}, "mapping": None, "event": {}})
    assert bad["requests"] == [] and bad["error"]["message"] == "Unknown action: nope"
    assert run_case({"id": "t", "kind": "trigger", "trigger": 'type = "track"', "event": {"type": "track"}}) == {
        "id": "t", "match": True, "error": None}
    assert run_case({"id": "t2", "kind": "trigger", "trigger": "", "event": {}})["error"]
    mapped = run_case({"id": "m", "kind": "mapping", "mapping": {"f": {"@template": "Viewed {{name}}"}},
                       "event": {"name": "Home"}})
    assert mapped == {"id": "m", "result": {"f": "Viewed Home"}, "error": None}
    invalid = run_case({"id": "m2", "kind": "mapping", "mapping": {"f": {"@template": 1}}, "event": {}})
    assert invalid["result"] is None and invalid["error"]["message"]


def test_at_most_fifty_subscriptions():
    subs = [Subscription(f"s{i}", 'type = "track"', "logEventV2") for i in range(51)]
    assert len(compile_subscriptions(subs[:50])) == 50
    with pytest.raises(TooManySubscriptionsError, match="at most 50"):
        compile_subscriptions(subs)
