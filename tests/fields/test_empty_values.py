"""removeEmptyValues (BEHAVIORS.md item 2) and unknown-key removal (item 1)."""

from __future__ import annotations

import pytest

from amprelay.fields import PayloadValidationError, compile_validator, fields_to_schema, remove_empty_values
from amprelay.fields.empty import ABSENT

from .helpers import PURCHASE_FIELDS

validate = compile_validator(PURCHASE_FIELDS)
SCHEMA = fields_to_schema(PURCHASE_FIELDS)


def test_empty_string_at_root_is_removed_for_every_field() -> None:
    with pytest.raises(PayloadValidationError, match=r"^The root value is missing the required field 'event_type'\.$"):
        validate({"event_type": ""})
    assert "user_id" not in validate({"event_type": "E", "user_id": ""})
    assert "price" not in validate({"event_type": "E", "price": ""})


def test_null_at_root_is_removed_unless_allowed() -> None:
    out = validate({"event_type": "E", "user_id": None, "device_id": None, "min_id_length": None, "price": None})
    assert out == {"event_type": "E", "user_id": None, "min_id_length": None}


def test_declared_object_keeps_empty_strings_for_string_properties() -> None:
    out = validate({"event_type": "E", "utm_properties": {"utm_source": "", "utm_term": None, "zzz": 1}})
    assert out["utm_properties"] == {"utm_source": ""}


def test_set_once_keeps_extras_but_drops_null_declared_properties() -> None:
    out = validate({"event_type": "E", "setOnce": {"initial_referrer": None, "x": None, "y": ""}})
    assert out["setOnce"] == {"x": None, "y": ""}


def test_products_items_are_not_cleaned_but_null_items_are_dropped() -> None:
    out = validate({"event_type": "E", "products": [None, {"productId": "", "price": 1}, {}]})
    assert out["products"] == [{"productId": "", "price": 1}, {}]


def test_unknown_root_keys_are_dropped() -> None:
    assert validate({"event_type": "E", "foo": "bar", "event_properties": {"foo": "bar"}}) == {
        "event_type": "E",
        "event_properties": {"foo": "bar"},
    }


def test_library2_extra_keys_are_dropped() -> None:
    out = validate({"event_type": "E", "library2": {"behavior": "auto", "extra": 1}})
    assert out["library2"] == {"behavior": "auto"}


def test_library2_empty_object_misses_behavior() -> None:
    with pytest.raises(PayloadValidationError, match=r"^Library is missing the required field 'behavior'\.$"):
        validate({"event_type": "E", "library2": {}})


def test_remove_empty_values_function() -> None:
    assert remove_empty_values({"price": "", "x": ""}, SCHEMA, is_root=True) == {}
    assert remove_empty_values(None, SCHEMA.properties["price"]) is ABSENT  # type: ignore[index]
    assert remove_empty_values("", SCHEMA.properties["price"]) is ABSENT  # type: ignore[index]
    assert remove_empty_values("", SCHEMA.properties["device_id"]) == ""  # type: ignore[index]
    nested = {"utm_source": None}
    assert remove_empty_values({"utm_properties": nested}, SCHEMA, is_root=True) == {"utm_properties": {}}
    assert nested == {"utm_source": None}


def test_payload_is_not_mutated() -> None:
    payload = {"event_type": "E", "foo": 1, "library2": {"behavior": "auto", "x": 1}, "price": "2", "user_id": ""}
    snapshot = repr(payload)
    validate(payload)
    assert repr(payload) == snapshot
