"""JavaScript's view of a JSON value: truthiness, ``String(value)``, its type name, functions.

Values are dict, list, str, int, float, bool, ``None`` (``null``), :data:`UNDEFINED` and
:class:`JSFunction` (a built-in reached through a prototype, e.g. ``$.properties.constructor``).
"""

from __future__ import annotations

from typing import Any

from .numbers import number_to_string
from .undefined import UNDEFINED

__all__ = ["JSFunction", "real_type_of", "to_string", "truthy"]


class JSFunction:
    """A built-in JS function value. ``String(f)`` is ``function NAME() { [native code] }``;
    ``JSON.stringify`` drops it; ``f.name`` and ``f.length`` are its own properties."""

    __slots__ = ("name", "length")

    def __init__(self, name: str, length: int = 0) -> None:
        self.name = name
        self.length = length

    def __repr__(self) -> str:
        return f"JSFunction({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JSFunction) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("JSFunction", self.name))


def truthy(value: Any) -> bool:
    """ECMAScript ``ToBoolean``: ``""``, ``0``, ``NaN``, ``null``, ``false`` and ``undefined`` are
    falsy; everything else (empty objects and arrays too) is truthy."""
    t = type(value)
    if t is dict or t is list:
        return True
    if t is str:
        return value != ""
    if t is bool:
        return value
    if t is int:
        return value != 0
    if t is float:
        return value != 0.0 and value == value
    return not (value is None or value is UNDEFINED)


def real_type_of(value: Any) -> str:
    """``Object.prototype.toString.call(value).slice(8, -1).toLowerCase()``: unlike ``typeof``,
    arrays are ``"array"`` and ``null`` is ``"null"`` (mapping-kit's and ajv-human-errors' rule)."""
    t = type(value)
    if t is dict:
        return "object"
    if t is str:
        return "string"
    if t is list or t is tuple:
        return "array"
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if t is JSFunction:
        return "function"
    return "object"


def to_string(value: Any) -> str:
    """ECMAScript ``String(value)``: arrays join with ``","`` (``null``/``undefined`` items
    become ``""``), objects are ``"[object Object]"``."""
    t = type(value)
    if t is str:
        return value
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return number_to_string(value)
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if t is list:
        return ",".join("" if item is None or item is UNDEFINED else to_string(item) for item in value)
    if t is JSFunction:
        return f"function {value.name}() {{ [native code] }}"
    return "[object Object]"
