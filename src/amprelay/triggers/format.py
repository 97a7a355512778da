"""AST -> trigger text, such that parsing the text gives back an equal AST.

Not every AST can be written: the language has no nested parentheses, no string escapes, and
some node shapes only come from odd token sequences. `format_trigger` checks its output by parsing
it again and raises `FormatError` when the AST cannot be expressed.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from amprelay.errors import AmprelayError

from .ast import FIELD_TYPES, PATH_TYPES, Condition, Group, Node

__all__ = ["FormatError", "format_condition", "format_trigger"]

_PLAIN_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_SYMBOL_OPS = {"=", "!=", "<", "<=", ">", ">="}
_FUNCTION_OPS = {
    "contains": ("contains", False), "not_contains": ("contains", True),
    "starts_with": ("match", False), "not_starts_with": ("match", True),
    "ends_with": ("match", False), "not_ends_with": ("match", True),
}


class FormatError(AmprelayError, ValueError):
    """The AST has no trigger text that parses back to it."""


def _escaped_ident(text: str) -> str:
    if not text:
        raise FormatError("an empty identifier cannot be written")
    out = []
    for i, ch in enumerate(text):
        plain = ("a" <= ch <= "z" or "A" <= ch <= "Z" or ch == "_" or
                 (i > 0 and ("0" <= ch <= "9" or ch == "-")))
        # a leading a/o/n could start `and`/`or`/`null`; escaping keeps it an identifier
        if i == 0 and ch in "aon":
            plain = False
        if plain:
            out.append(ch)
        elif ch > "\uffff":  # the lexer escapes one UTF-16 unit at a time
            cp = ord(ch) - 0x10000
            out.append("\\" + chr(0xD800 + (cp >> 10)) + "\\" + chr(0xDC00 + (cp & 0x3FF)))
        else:
            out.append("\\" + ch)
    return "".join(out)


def _ident(text: str) -> str:
    """An identifier token with value `text` (dots between plain segments stay plain)."""
    segments = text.split(".")
    if all(_PLAIN_IDENT.match(s) and s not in ("and", "or", "null") for s in segments):
        return text
    return _escaped_ident(text)


def _string(value: str) -> str:
    """A token whose getTokenValue() is the string `value` (not a boolean)."""
    if '"' not in value:
        return f'"{value}"'
    return _escaped_ident(value)


def _number(value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return ("-" if value < 0 else "") + "1" + "0" * 400
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _value(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float | int):
        return _number(float(value))
    if isinstance(value, str):
        return _string(value)
    raise FormatError(f"a condition value of type {type(value).__name__} cannot be written")


def _operator(op: str) -> str:
    if op in _SYMBOL_OPS:
        return op
    if _PLAIN_IDENT.match(op):
        return op
    return _escaped_ident(op)


def _field(cond: Condition) -> str:
    if cond.type in FIELD_TYPES:
        return FIELD_TYPES[cond.type]
    root = PATH_TYPES[cond.type]
    return _ident(f"{root}.{cond.name}") if cond.name else _escaped_ident(root + ".")


def format_condition(cond: Condition, *, in_group: bool = False) -> str:
    field = _field(cond)
    op, value = cond.operator, cond.value
    if value is None:
        special = {"exists": "!= null", "not_exists": "= null", "is_true": "= true", "is_false": "= false"}
        if op in special:
            return f"{field} {special[op]}"
        raise FormatError(f"operator {op!r} without a value cannot be written")
    if op == "number_equals" and isinstance(value, float | int) and not isinstance(value, bool):
        return f"{field} = {_number(float(value))}"
    if op == "number_not_equals" and isinstance(value, float | int) and not isinstance(value, bool):
        return f"{field} != {_number(float(value))}"
    if op in _FUNCTION_OPS and isinstance(value, str) and not in_group:
        fn, negate = _FUNCTION_OPS[op]
        bang = "!" if negate else ""
        if fn == "contains":
            arg = _string(value)
        elif op.endswith("starts_with"):
            arg = f'"{value}*"' if '"' not in value else _escaped_ident(value + '"')
        else:
            arg = f'"*{value}"' if '"' not in value and not value.endswith("*") else _escaped_ident("*" + value)
        return f"{bang}{fn}({field}, {arg})"
    return f"{field} {_operator(op)} {_value(value)}"


def _node(node: Node | None, in_group: bool) -> str:
    if node is None:
        if in_group:
            raise FormatError("an empty group inside a group cannot be written")
        return "()"
    if isinstance(node, Condition):
        return format_condition(node, in_group=in_group)
    if in_group:
        raise FormatError("nested groups cannot be written (the language has no nested parentheses)")
    return "(" + f" {node.operator} ".join(_node(c, True) for c in node.children) + ")"


def _unchecked(ast: Group) -> str:
    if len(ast.children) == 1 and ast.operator == "and" and ast.children[0] is not None:
        child = ast.children[0]
        if isinstance(child, Group):
            return _unchecked(child)
        return format_condition(child)
    if len(ast.children) < 2:
        raise FormatError("a group needs two children, or one child and the operator 'and'")
    return f" {ast.operator} ".join(_node(c, False) for c in ast.children)


def format_trigger(ast: Group) -> str:
    """Trigger text for `ast`; parsing it gives an AST equal to `ast` (else FormatError)."""
    from .parser import parse_trigger

    text = _unchecked(ast)
    if parse_trigger(text).ast != ast:
        raise FormatError(f"the AST cannot be written as a trigger (closest text: {text!r})")
    return text
