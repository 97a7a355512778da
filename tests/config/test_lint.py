"""`amprelay validate` lints: warnings about what the reference trigger parser really does, mapping
keys that are not fields (errors, with suggestions), config key typos, environment variables.

The ASTs below were recorded with @segment/destination-subscriptions 3.37.0 (`parseFql`), the
parser the reference destination runs; the warnings must describe exactly that."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amprelay.cli.main import main
from amprelay.config import ConfigError, parse_config
from amprelay.lint import EVENT_TYPES, trigger_warnings
from amprelay.triggers import compile_trigger

# trigger -> (the reference's parseFql AST, a piece of the warning)
REFERENCE = {
    'type == "group"': ({"type": "group", "operator": "and", "children": [
        {"type": "event-type", "operator": "=", "value": "="}]},
        "'==' at position 5 is not an operator (compare with a single '=')"),
    'type = "group" and': ({"type": "group", "operator": "and", "children": [
        {"type": "event-type", "operator": "=", "value": "group"}]},
        "'and' at position 15 joins nothing on one side; the reference drops it, so the trigger is: "
        'type = "group"'),
    'event = "A" and and event = "B"': ({"type": "group", "operator": "and", "children": [
        {"type": "event", "operator": "=", "value": "A"}, {"type": "event", "operator": "=", "value": "B"}]},
        "'and' at position 16 joins nothing on one side"),
    'event.name = "X"': ({"type": "group", "operator": "and", "children": [
        {"type": "event", "operator": "=", "value": "X"}]},
        "'event.name' at position 0: event has no fields; the reference reads it as event"),
    'type = "grop"': ({"type": "group", "operator": "and", "children": [
        {"type": "event-type", "operator": "=", "value": "grop"}]},
        "type = \"grop\" at position 0 never matches: type is one of track, identify, page, screen, group, alias "
        "(did you mean 'group'?)"),
    "properties = 1": ({"type": "group", "operator": "and", "children": [
        {"type": "event-property", "name": "properties", "operator": "number_equals", "value": 1}]},
        "'properties' at position 0 names no field inside properties"),
    'type = "track" and type = "page"': ({"type": "group", "operator": "and", "children": [
        {"type": "event-type", "operator": "=", "value": "track"},
        {"type": "event-type", "operator": "=", "value": "page"}]},
        "ask for type page and track at once"),
    'type = "page" and event = "X"': ({"type": "group", "operator": "and", "children": [
        {"type": "event-type", "operator": "=", "value": "page"}, {"type": "event", "operator": "=", "value": "X"}]},
        "event at position 18 is a field of track events; a page event never has it"),
}
NEVER_MATCH = ['type == "group"', 'type = "grop"', 'type = "track" and type = "page"',
               'type = "page" and event = "X"', 'event = "A" and and event = "B"']
CLEAN = ['type = "track" and event != "Order Completed"', 'type = "group"', 'type = "page" and name = "Home"',
         'event = "A" or event = "B"', 'properties.plan = "pro"', 'type = "screen" and name != null',
         '(type = "track" or type = "page") and userId != null', 'contains(event, "Sign")']


@pytest.mark.parametrize("text", sorted(REFERENCE))
def test_warning_matches_what_the_reference_parses(text):
    ast, warning = REFERENCE[text]
    trigger = compile_trigger(text)
    assert trigger.error is None and trigger.ast.to_dict() == ast  # the same reading as the reference
    warnings = trigger_warnings(text)
    assert any(warning in w for w in warnings), warnings


@pytest.mark.parametrize("text", CLEAN)
def test_good_triggers_get_no_warning(text):
    assert trigger_warnings(text) == []


events = st.fixed_dictionaries({
    "type": st.sampled_from(EVENT_TYPES),
    "event": st.sampled_from(["A", "B", "X", "=", "Signed Up"]),
    "name": st.sampled_from(["Home", "X"]),
    "userId": st.sampled_from(["u1", "X"]),
    "properties": st.dictionaries(st.sampled_from(["properties", "plan", "x"]), st.integers(0, 2)),
})


@settings(max_examples=300, deadline=None)
@given(events)
def test_triggers_said_to_never_match_match_no_spec_event(event):
    # the spec says which fields each type has: drop the others, as SDKs do
    event = dict(event)
    if event["type"] != "track":
        event.pop("event")
    if event["type"] not in ("page", "screen"):
        event.pop("name")
    for text in NEVER_MATCH:
        assert not compile_trigger(text).matches(event), text


CONFIG = """\
sources:
  - name: web
    write_key: ${WK}
destinations:
  - name: amplitude
    settings: {apiKey: "${KEY}", secretKey: "${KEY}"}
    subscriptions:
      - name: Groups
        trigger: type == "group"
        action: groupIdentifyUser
        mapping:
          defaults: true
          group_typ: company
          group_value: {"@path": "$.groupId"}
"""


def problems(text, env):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "amprelay.yaml", env)
    return [str(p) for p in info.value.problems]


def test_mapping_key_that_is_no_field_is_an_error_with_a_suggestion():
    [p] = problems(CONFIG, {"WK": "w", "KEY": "k"})
    assert p.startswith("amprelay.yaml:13 (destinations[0].subscriptions[0].mapping.group_typ): 'group_typ' is not "
                        "a field of Group Identify User (groupIdentifyUser) (did you mean 'group_type'?)")


def test_trigger_warnings_carry_file_line_and_position():
    loaded = parse_config(CONFIG.replace("group_typ", "group_type"), "amprelay.yaml", {"WK": "w", "KEY": "k"})
    [w] = loaded.warnings
    assert w.startswith("amprelay.yaml:9 (destinations[0].subscriptions[0].trigger): '==' at position 5")


def test_each_missing_variable_once_with_the_line_that_uses_it():
    ps = problems(CONFIG.replace("group_typ", "group_type"), {})
    assert ps == [
        "amprelay.yaml:3 (sources[0].write_key): environment variable WK is not set",
        "amprelay.yaml:6 (destinations[0].settings.apiKey): environment variable KEY is not set",
    ]


@pytest.mark.parametrize("typo, message", [
    ("    subscriptons:\n", "unknown key 'subscriptons' in destinations[0] (did you mean 'subscriptions'?)"),
    ("queue:\n  backnd: sqlite\n", "unknown key 'backnd' in queue (did you mean 'backend'?)"),
    ("delivery:\n  max_age: 10\n", "unknown key 'max_age' in delivery (did you mean 'max_age_seconds'?)"),
    ("destination: []\n", "unknown key 'destination' at the top level (did you mean 'destinations'?)"),
])
def test_config_key_typos_get_suggestions(typo, message):
    text = CONFIG.replace("group_typ", "group_type")
    text = text.replace("    subscriptions:\n", typo) if typo.startswith("    ") else text + typo
    ps = problems(text, {"WK": "w", "KEY": "k"})
    assert any(message in p for p in ps), ps
    assert not any("Extra inputs are not permitted" in p for p in ps)


def test_settings_typo_gets_a_suggestion():
    text = CONFIG.replace("group_typ", "group_type").replace('secretKey: "${KEY}"', 'secretkey: "${KEY}"')
    ps = problems(text, {"WK": "w", "KEY": "k"})
    assert any("unknown setting 'secretkey' (did you mean 'secretKey'?)" in p for p in ps), ps


def test_validate_strict_fails_on_warnings(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WK", "w")
    monkeypatch.setenv("KEY", "k")
    path = tmp_path / "amprelay.yaml"
    path.write_text(CONFIG.replace("group_typ", "group_type"))
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "valid, 1 warning" in out and "warning: " in err and "'==' at position 5" in err
    assert main(["validate", "--strict", str(path)]) == 1
    assert "amprelay validate: 1 warning (--strict)" in capsys.readouterr().err
    path.write_text(CONFIG.replace("group_typ", "group_type").replace("type ==", "type ="))
    assert main(["validate", "--strict", str(path)]) == 0


def test_no_trigger_said_to_never_match_matched_in_the_reference_recordings():
    import json
    from pathlib import Path

    conformance = Path(__file__).resolve().parents[1] / "conformance"
    answers = {}
    for f in (conformance / "expected").glob("*.jsonl"):
        for line in f.read_text().splitlines():
            answer = json.loads(line)
            answers[answer["id"]] = answer
    flagged = contradicted = 0
    for f in (conformance / "cases").glob("*.jsonl"):
        for line in f.read_text().splitlines():
            case = json.loads(line)
            if case.get("kind") != "trigger" or not any("never matches" in w for w in trigger_warnings(case["trigger"])):
                continue
            flagged += 1
            contradicted += answers[case["id"]]["match"] is True
    assert flagged >= 20 and contradicted == 0
