"""The trigger AST: the same shape as the reference's subscription AST.

A parsed trigger is always a `Group` at the top. A `Group` child may be `None`: that is the
reference's `undefined` child, left by an empty parenthesised group such as `()`; evaluating it
throws in the reference.

`Condition.value` is None when the reference node has no `value` (exists, not_exists, is_true,
is_false). Positions are informational and not part of equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONDITION_TYPES",
    "Condition",
    "Group",
    "Node",
    "PATH_TYPES",
    "PATH_ROOTS",
]

#: Condition types on a top-level field of the event.
FIELD_TYPES = {"event-type": "type", "event": "event", "name": "name", "userId": "userId"}
#: Condition types on a path inside an object of the event.
PATH_TYPES = {"event-property": "properties", "event-trait": "traits", "event-context": "context"}
PATH_ROOTS = {root: typ for typ, root in PATH_TYPES.items()}
CONDITION_TYPES = frozenset(FIELD_TYPES) | frozenset(PATH_TYPES)

Value = str | float | bool | None


@dataclass(frozen=True, slots=True)
class Condition:
    type: str  # one of CONDITION_TYPES
    operator: str  # any token value; the known ones are listed in compiler.OPERATORS
    name: str | None = None  # path inside properties/traits/context (PATH_TYPES only)
    value: Value = None
    position: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["operator"] = self.operator
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(frozen=True, slots=True)
class Group:
    operator: str  # "and" | "or"
    children: tuple[Node | None, ...]
    position: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "group",
            "operator": self.operator,
            "children": [None if c is None else c.to_dict() for c in self.children],
        }


Node = Condition | Group
