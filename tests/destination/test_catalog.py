"""The actions, their fields and the presets are declared as the reference declares them.
reference_actions.json was generated from the published @segment/action-destinations 3.497.0
(the Amplitude destination's action definitions and presets, as JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amprelay.destination import ACTIONS, MAX_SUBSCRIPTIONS, PRESETS
from amprelay.fields import default_mapping
from amprelay.fields.model import InputField

REFERENCE = json.loads((Path(__file__).parent / "reference_actions.json").read_text(encoding="utf-8"))


def _choices(field: InputField):
    return None if field.choices is None else list(field.choices)


def assert_field_matches(path: str, ours: InputField, ref: dict) -> None:
    assert ours.label == ref["label"], path
    assert ours.type == ref["type"], path
    assert ours.description == ref.get("description", ""), path
    assert ours.required == bool(ref.get("required", False)), path
    assert ours.allow_null == bool(ref.get("allowNull", False)), path
    assert ours.multiple == bool(ref.get("multiple", False)), path
    assert ours.has_default == ("default" in ref), path
    if "default" in ref:
        assert ours.default == ref["default"], path
    assert _choices(ours) == ref.get("choices"), path
    assert ours.unsafe_hidden == bool(ref.get("unsafe_hidden", False)), path
    if "properties" in ref:
        assert ours.properties is not None, path
        assert list(ours.properties) == list(ref["properties"]), path
        assert ours.additional_properties == bool(ref.get("additionalProperties", False)), path
        for key, sub in ref["properties"].items():
            assert ours.properties[key].key == key
            assert_field_matches(f"{path}.{key}", ours.properties[key], sub)
    else:
        assert ours.properties is None, path


def test_same_actions_as_the_reference():
    assert sorted(ACTIONS) == sorted(REFERENCE["actions"])


@pytest.mark.parametrize("key", sorted(REFERENCE["actions"]))
def test_action_declared_as_the_reference(key):
    ours, ref = ACTIONS[key], REFERENCE["actions"][key]
    assert ours.key == key
    assert ours.title == ref["title"]
    assert ours.description == ref.get("description", "")
    assert ours.default_subscription == ref["defaultSubscription"]
    assert list(ours.fields) == list(ref["fields"])  # same keys, same order
    for name, field in ours.fields.items():
        assert field.key == name
        assert_field_matches(f"{key}.{name}", field, ref["fields"][name])


@pytest.mark.parametrize("key", sorted(REFERENCE["actions"]))
def test_default_mapping_is_every_default(key):
    fields = ACTIONS[key].fields
    assert list(default_mapping(fields)) == [k for k, v in REFERENCE["actions"][key]["fields"].items() if "default" in v]


def test_presets_as_the_reference():
    ref = [p for p in REFERENCE["presets"] if p["partnerAction"] != "sessionId"]  # the browser plugin
    assert [(p.name, p.subscribe, p.action, p.mapping) for p in PRESETS] == [
        (p["name"], p["subscribe"], p["partnerAction"], p["mapping"]) for p in ref
    ]
    page = next(p for p in PRESETS if p.name == "Page Calls")
    assert page.mapping["event_type"] == {"@template": "Viewed {{name}}"}
    assert MAX_SUBSCRIPTIONS == 50


def test_hidden_library_field_and_library_settings():
    for key in ("logEvent", "logEventV2", "logPurchase"):
        fields = ACTIONS[key].fields
        assert fields["library"].unsafe_hidden and fields["library"].default == {"@path": "$.context.library.name"}
        assert fields["library2"].default == {"behavior": "use_mapping", "mapping": {"@path": "$.context.library.name"}}
