"""An action's fields, declared as data (the reference's idea: an action is fields plus one perform)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldType = Literal["string", "number", "integer", "boolean", "object", "datetime", "password", "text"]


@dataclass(frozen=True, slots=True)
class InputField:
    """One input field of an action (or one property of an object field).

    Mirrors the reference's InputField: ``type``, ``multiple`` (an array of ``type``),
    ``required``, ``allow_null``, ``default`` (a mapping directive or a raw value), nested
    ``properties`` for objects, ``choices`` for enumerations, ``format`` (e.g. ``date-time``),
    ``minimum``/``maximum`` (string length or number bounds, as the reference's InputField).

    ``additional_properties`` only matters for objects with ``properties``: the reference drops
    undeclared keys of such objects unless the field says ``additionalProperties: true``.
    ``choices`` items are strings or ``{"label": ..., "value": ...}`` mappings.
    """

    key: str
    label: str
    type: FieldType
    description: str = ""
    required: bool = False
    allow_null: bool = False
    multiple: bool = False
    default: Any = None
    has_default: bool = False
    properties: dict[str, InputField] | None = None
    additional_properties: bool = True
    choices: tuple[Any, ...] | None = None
    format: str | None = None
    unsafe_hidden: bool = False
    depends_on: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None


def default_mapping(fields: Mapping[str, InputField]) -> dict[str, Any]:
    """The mapping made of each field's default (``defaultValues`` upstream: what presets use and what
    ``mapping: null`` means in conformance cases). Fields without a default are left out."""
    out: dict[str, Any] = {}
    for key, f in fields.items():
        if f.has_default or f.default is not None:
            out[key] = copy.deepcopy(f.default)
    return out
