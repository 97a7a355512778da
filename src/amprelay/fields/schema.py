"""Fields -> the JSON schema actions-core generates for them (``fieldsToJsonSchema``), as a small tree.

Only what validation needs is kept. The quirks of the generator are kept too:
* ``datetime`` is ``type: ["string", "number"]`` with ``format: "date-like"``;
* ``allow_null`` appends ``"null"`` to the type (and to the enum), but a ``multiple`` field's type is
  replaced by ``"array"`` and its items never allow null;
* an object field with ``properties`` is merged with the nested schema, which sets ``type: "object"``
  again (so ``allow_null`` is lost), ``additionalProperties: field.additional_properties``; items of a
  ``multiple`` object field are the nested schema itself, with no title;
* ``minimum``/``maximum`` become ``minLength``/``maxLength`` for strings and bounds for numbers
  (only when truthy, as upstream).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import InputField

__all__ = ["SchemaNode", "fields_to_schema"]

_TYPE_MAP: dict[str, tuple[str, ...]] = {
    "string": ("string",),
    "text": ("string",),
    "password": ("string",),
    "datetime": ("string", "number"),
    "number": ("number",),
    "integer": ("integer",),
    "boolean": ("boolean",),
    "object": ("object",),
}


class SchemaNode:
    """One (sub)schema: what ajv would see for a field, an array's items or an object."""

    __slots__ = (
        "title", "types", "enum", "format", "items", "properties", "required", "additional_properties",
        "min_length", "max_length", "minimum", "maximum",
    )

    def __init__(
        self,
        *,
        title: str | None = None,
        types: tuple[str, ...] = (),
        enum: tuple[Any, ...] | None = None,
        format: str | None = None,
        items: SchemaNode | None = None,
        properties: dict[str, SchemaNode] | None = None,
        required: tuple[str, ...] = (),
        additional_properties: bool = True,
        min_length: float | None = None,
        max_length: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> None:
        self.title = title
        self.types = types
        self.enum = enum
        self.format = format
        self.items = items
        self.properties = properties
        self.required = required
        self.additional_properties = additional_properties
        self.min_length = min_length
        self.max_length = max_length
        self.minimum = minimum
        self.maximum = maximum

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        parts = [f"{k}={getattr(self, k)!r}" for k in self.__slots__ if getattr(self, k) not in (None, (), True)]
        return f"SchemaNode({', '.join(parts)})"


def _choice_value(choice: Any) -> Any:
    if isinstance(choice, str):
        return choice
    if isinstance(choice, Mapping):
        return choice.get("value")
    return getattr(choice, "value", choice)


def _field_node(f: InputField) -> SchemaNode:
    base = _TYPE_MAP.get(f.type)
    if base is None:
        raise ValueError(f"field {f.key!r}: unknown type {f.type!r}")
    node = SchemaNode(title=f.label, types=base, format=f.format)
    if f.type == "datetime":
        node.format = "date-like"
    elif f.type == "password":
        node.format = "password"
    elif f.type == "text":
        node.format = "text"
    elif f.type == "string":
        if f.minimum:
            node.min_length = f.minimum
        if f.maximum:
            node.max_length = f.maximum
    elif f.type == "number":
        if f.minimum:
            node.minimum = f.minimum
        if f.maximum:
            node.maximum = f.maximum
    if f.choices is not None:
        node.enum = tuple(_choice_value(c) for c in f.choices)
    if f.allow_null:
        node.types = base + ("null",)
        if node.enum is not None:
            node.enum = node.enum + (None,)
    if f.multiple:
        node.items = SchemaNode(types=base, enum=node.enum)
        node.types = ("array",)
        node.enum = None
    if base == ("object",) and f.properties is not None:
        nested = fields_to_schema(f.properties, additional_properties=f.additional_properties)
        if f.multiple:
            node.items = nested
        else:
            node.types = nested.types
            node.properties = nested.properties
            node.required = nested.required
            node.additional_properties = nested.additional_properties
    return node


def fields_to_schema(fields: Mapping[str, InputField], *, additional_properties: bool = False) -> SchemaNode:
    """The object schema of a set of fields (the root schema of an action when called with its fields)."""
    properties: dict[str, SchemaNode] = {}
    required: list[str] = []
    for key, f in fields.items():
        properties[key] = _field_node(f)
        if f.required is True:
            required.append(key)
    return SchemaNode(
        types=("object",),
        properties=properties,
        required=tuple(required),
        additional_properties=bool(additional_properties),
    )
