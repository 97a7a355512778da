"""fieldsToJsonSchema quirks and default mappings."""

from __future__ import annotations

from amprelay.fields import InputField, default_mapping, fields_to_schema

from .helpers import PURCHASE_FIELDS


def test_schema_shapes() -> None:
    root = fields_to_schema(PURCHASE_FIELDS)
    assert root.types == ("object",) and root.additional_properties is False
    assert root.required == ("event_type",)
    props = root.properties
    assert props is not None
    assert props["time"].types == ("string", "number") and props["time"].format == "date-like"
    assert props["user_id"].types == ("string", "null")
    assert props["products"].types == ("array",)
    items = props["products"].items
    assert items is not None and items.title is None and items.additional_properties is True
    lib = props["library2"]
    assert lib.types == ("object",) and lib.required == ("behavior",) and lib.additional_properties is False
    assert lib.properties is not None and lib.properties["behavior"].enum == ("auto", "use_mapping")


def test_allow_null_quirks() -> None:
    fields = {
        "o": InputField(key="o", label="O", type="object", allow_null=True, properties={"a": InputField(key="a", label="A", type="string")}),
        "m": InputField(key="m", label="M", type="string", multiple=True, allow_null=True, choices=("x",)),
        "e": InputField(key="e", label="E", type="object", properties={}),
    }
    props = fields_to_schema(fields).properties
    assert props is not None
    assert props["o"].types == ("object",)  # the nested schema's type wins
    assert props["m"].types == ("array",)
    assert props["m"].items is not None and props["m"].items.types == ("string",) and props["m"].items.enum == ("x", None)
    assert props["e"].properties == {}  # empty properties still drop every key


def test_default_mapping() -> None:
    mapping = default_mapping(PURCHASE_FIELDS)
    assert mapping == {
        "user_id": {"@path": "$.userId"},
        "event_type": {"@path": "$.event"},
        "time": {"@path": "$.timestamp"},
        "use_batch_endpoint": False,
        "products": {"@arrayPath": ["$.properties.products", {}]},
        "library2": {"behavior": "use_mapping", "mapping": {"@path": "$.context.library.name"}},
    }
    mapping["library2"]["behavior"] = "auto"
    assert PURCHASE_FIELDS["library2"].default["behavior"] == "use_mapping"


def test_default_null_counts_when_declared() -> None:
    fields = {"x": InputField(key="x", label="X", type="string", default=None, has_default=True)}
    assert default_mapping(fields) == {"x": None}
