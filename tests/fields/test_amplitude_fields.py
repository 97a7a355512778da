"""The destination's Amplitude field declarations give the schema the reference generates from its own
declarations (recorded in data/fieldsets.json, keyed ``amplitude_<action>``)."""

from __future__ import annotations

import pytest

from amprelay.fields import SchemaNode, fields_to_schema

from .helpers import load_fieldsets

REFERENCE = {k.removeprefix("amplitude_"): v for k, v in load_fieldsets().items() if k.startswith("amplitude_")}


def _shape(node: SchemaNode) -> dict:
    return {
        "title": node.title,
        "types": node.types,
        "enum": node.enum,
        "format": node.format,
        "required": sorted(node.required),
        "additional": node.additional_properties if node.properties is not None else None,
        "items": _shape(node.items) if node.items is not None else None,
        "properties": {k: _shape(v) for k, v in sorted(node.properties.items())} if node.properties is not None else None,
        "bounds": (node.min_length, node.max_length, node.minimum, node.maximum),
    }


@pytest.mark.parametrize("action", sorted(REFERENCE))
def test_destination_fields_match_the_reference_schema(action: str) -> None:
    destination = pytest.importorskip("amprelay.destination")
    ours = fields_to_schema(destination.ACTIONS[action].fields)
    ref = fields_to_schema(REFERENCE[action])
    assert list(ours.properties or {}) == list(ref.properties or {})  # root order = error order
    assert _shape(ours) == _shape(ref)
