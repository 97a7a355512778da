"""AST -> Python function, evaluating like `validate` of @segment/destination-subscriptions 3.37.0.

Each trigger is compiled once into two functions generated as Python source:
- `fast(event)`: for dict events; one expression with the conditions inlined
  (`type = "track"` becomes `e.get('type') == 'track'`, runs of `type = "a" or type = "b"` become
  a set lookup). If anything unexpected happens it hands over to `generic`.
- `generic(event)`: any event value, full JavaScript semantics (null event, property access on
  strings/arrays/prototypes); raises `JSThrow` where the reference throws.

Operator semantics (validateValue): `=`/`!=` are strict comparisons with a string; number
operators and `<`... need a number; contains/starts/ends need a string; exists is "not null/undefined".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amprelay.js import UNDEFINED, as_number, to_number, to_string, to_utf16

from .ast import FIELD_TYPES, PATH_TYPES, Condition, Group, Node
from .properties import OBJECT_PROTO_NAMES, JSThrow, js_get_path, js_prop, path_keys

__all__ = ["CompiledTrigger", "compile_ast"]

MatchFn = Callable[[Any], bool]

_UNDEFINED_TYPE = "Cannot read properties of undefined (reading 'type')"
_NULL_REDUCE = "Cannot read properties of null (reading 'reduce')"


# --- runtime helpers (referenced by generated code) ---------------------------------------------

def _field(event: Any, key: str) -> Any:
    if type(event) is dict:
        return event.get(key)
    if event is None:
        raise JSThrow(f"Cannot read properties of null (reading '{key}')")
    return js_prop(event, key)


def _throw_undefined() -> bool:
    raise JSThrow(_UNDEFINED_TYPE)


def _throw_reduce() -> bool:
    raise JSThrow(_NULL_REDUCE)


def _false(_value: Any) -> bool:
    return False


def _str16(value: Any) -> str | None:
    return to_utf16(value) if type(value) is str else None


_HELPERS: dict[str, Any] = {
    "_field": _field,
    "_path": js_get_path,
    "_num": as_number,
    "_throw_undefined": _throw_undefined,
    "_throw_reduce": _throw_reduce,
    "_false": _false,
    "_str16": _str16,
}


def _has_lone_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


class _Codegen:
    def __init__(self, generic: bool) -> None:
        self.generic = generic
        self.consts: dict[str, Any] = {}
        self.counter = 0

    def const(self, value: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def var(self) -> str:
        self.counter += 1
        return f"_v{self.counter}"

    def field(self, key: str) -> str:
        return f"_field(e, {key!r})" if self.generic else f"e.get({key!r})"

    # value of a condition's operand
    def operand(self, cond: Condition) -> str:
        if cond.type in FIELD_TYPES:
            return self.field(FIELD_TYPES[cond.type])
        root = self.field(PATH_TYPES[cond.type])
        name = cond.name or ""
        if not name:
            return f"_false({root}) or None" if self.generic else "None"
        keys = path_keys(name)
        if keys is None:
            return f"(_false({root}) or _throw_reduce())" if self.generic else "_throw_reduce()"
        if not self.generic and len(keys) == 1 and keys[0] not in OBJECT_PROTO_NAMES:
            p = self.var()
            return (f"({p}.get({keys[0]!r}) if type({p} := {root}) is dict "
                    f"else _path({p}, {self.const(keys)}))")
        return f"_path({root}, {self.const(keys)})"

    def condition(self, cond: Condition) -> str:
        v = self.operand(cond)
        op = cond.operator
        if op == "=":
            return f"({v} == {to_string(cond.value)!r})"
        if op == "!=":
            return f"({v} != {to_string(cond.value)!r})"
        if op in ("number_equals", "number_not_equals", "<", "<=", ">", ">="):
            n = self.const(to_number(UNDEFINED if cond.value is None else cond.value))
            pyop = {"number_equals": "==", "number_not_equals": "!="}.get(op, op)
            x = self.var()
            return f"(({x} := _num({v})) is not None and {x} {pyop} {n})"
        if op in ("contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with"):
            s = to_string(cond.value)
            x = self.var()
            if _has_lone_surrogate(s):
                s16 = to_utf16(s)
                test = {
                    "contains": f"{s16!r} in {x}", "not_contains": f"{s16!r} not in {x}",
                    "starts_with": f"{x}.startswith({s16!r})", "not_starts_with": f"not {x}.startswith({s16!r})",
                    "ends_with": f"{x}.endswith({s16!r})", "not_ends_with": f"not {x}.endswith({s16!r})",
                }[op]
                return f"(({x} := _str16({v})) is not None and {test})"
            test = {
                "contains": f"{s!r} in {x}", "not_contains": f"{s!r} not in {x}",
                "starts_with": f"{x}.startswith({s!r})", "not_starts_with": f"not {x}.startswith({s!r})",
                "ends_with": f"{x}.endswith({s!r})", "not_ends_with": f"not {x}.endswith({s!r})",
            }[op]
            return f"(type({x} := {v}) is str and {test})"
        if op == "exists":
            return f"({v} is not None)"
        if op == "not_exists":
            return f"({v} is None)"
        if op == "is_true":
            return f"({v} is True)"
        if op == "is_false":
            return f"({v} is False)"
        return f"_false({v})"

    def node(self, node: Node | None) -> str:
        if node is None:
            return "_throw_undefined()"
        if isinstance(node, Condition):
            return self.condition(node)
        return self.group(node)

    def group(self, group: Group) -> str:
        if group.operator not in ("and", "or"):
            return "False"
        parts: list[str] = []
        children = list(group.children)
        i = 0
        # in `or` groups, runs of `F = "x"` on one top-level field become a set lookup;
        # in `and` groups, runs of `F != "x"` do. (fast path only: unhashable values fall back)
        merge_op = "=" if group.operator == "or" else "!="
        while i < len(children):
            child = children[i]
            run_end = i
            if not self.generic and isinstance(child, Condition) and child.type in FIELD_TYPES \
                    and child.operator == merge_op:
                while run_end + 1 < len(children):
                    nxt = children[run_end + 1]
                    if isinstance(nxt, Condition) and nxt.type == child.type and nxt.operator == merge_op:
                        run_end += 1
                    else:
                        break
            if run_end > i:
                values = frozenset(to_string(c.value) for c in children[i:run_end + 1])  # type: ignore[union-attr]
                test = "in" if merge_op == "=" else "not in"
                parts.append(f"({self.field(FIELD_TYPES[child.type])} {test} {self.const(values)})")  # type: ignore[union-attr]
            else:
                parts.append(self.node(child))
            i = run_end + 1
        if len(parts) == 1:
            return parts[0]
        return "(" + f" {group.operator} ".join(parts) + ")"


class CompiledTrigger:
    """The two generated functions for one AST, and their source (for debugging)."""

    __slots__ = ("fast", "generic", "fast_source", "generic_source")

    def __init__(self, fast: MatchFn, generic: MatchFn, fast_source: str, generic_source: str) -> None:
        self.fast = fast
        self.generic = generic
        self.fast_source = fast_source
        self.generic_source = generic_source


def _build(name: str, source: str, namespace: dict[str, Any]) -> MatchFn:
    code = compile(source, f"<trigger {name}>", "exec")
    exec(code, namespace)  # noqa: S102 - source is generated from the AST, constants are names
    return namespace[name]


def compile_ast(ast: Group) -> CompiledTrigger:
    gen = _Codegen(generic=True)
    generic_expr = gen.group(ast)
    generic_src = f"def generic(e):\n    return bool({generic_expr})\n"
    generic_ns = {**_HELPERS, **gen.consts}
    generic = _build("generic", generic_src, generic_ns)

    def fallback(event: Any) -> bool:
        try:
            return generic(event)
        except Exception:
            return False

    fast_gen = _Codegen(generic=False)
    fast_expr = fast_gen.group(ast)
    # every condition is a comparison, a membership or identity test or a str method's answer
    # (a bool), and ``and`` / ``or`` of bools is a bool: no bool() call needed
    fast_src = (
        "def fast(e):\n"
        "    try:\n"
        f"        return {fast_expr}\n"
        "    except Exception:\n"
        "        return _fallback(e)\n"
    )
    fast_ns = {**_HELPERS, **fast_gen.consts, "_fallback": fallback}
    fast = _build("fast", fast_src, fast_ns)
    return CompiledTrigger(fast, generic, fast_src, generic_src)
