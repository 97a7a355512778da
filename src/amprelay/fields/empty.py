"""actions-core's ``removeEmptyValues``: what is dropped from a resolved mapping before validation.

* Objects are only cleaned when their schema declares ``properties`` (the root, ``library2``,
  ``utm_properties``, ...). Keys the schema does not know are left alone (ajv drops them later).
* A property becomes absent when its value is ``null`` and its type does not allow null, or ``""``
  and its type does not include string. At the root, ``""`` is dropped for every field.
* Arrays with an items schema keep their **original** items, minus those whose cleaned form would be
  absent (upstream ``filter``): ``products[]`` items are not cleaned, but ``null`` items are dropped.
"""

from __future__ import annotations

from typing import Any

from .schema import SchemaNode

__all__ = ["ABSENT", "remove_empty_values"]


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def remove_empty_values(obj: Any, node: SchemaNode | None, is_root: bool = False) -> Any:
    """The cleaned value, or ``ABSENT`` when the value is to be removed. Never mutates ``obj``."""
    if node is None or (not node.types and node.enum is None):
        return obj
    t = type(obj)
    if t is list:
        items = node.items
        if items is None:
            return obj
        return [item for item in obj if remove_empty_values(item, items) is not ABSENT]
    if t is dict:
        props = node.properties
        if props is None:
            return obj
        out = {}
        for key, value in obj.items():
            value = remove_empty_values(value, props.get(key))
            if value is ABSENT:
                continue
            if is_root and type(value) is str and value == "":
                continue
            out[key] = value
        return out
    if obj is None:
        return obj if "null" in node.types else ABSENT
    if t is str and obj == "" and "string" not in node.types:
        return ABSENT
    return obj
