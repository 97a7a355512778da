"""Trigger text -> AST, reproducing `parseFql` of @segment/destination-subscriptions 3.37.0.

The reference parser is lenient in odd ways, and those decide which events match, so they are kept:
- a group has one operator: the LAST `and`/`or` token seen in it (`A and B or C` = `A or B or C`);
- a parenthesised group ends at the first `)`, so a `(` inside a group fails;
- identifiers that are not a known field (or `contains`/`match`) are skipped, and so is a `!` not
  followed by `contains`/`match`;
- a condition takes the next two tokens as operator and value, whatever they are;
- `contains`/`match` skip the tokens where `(`, `,` and `)` should be without checking them.

Besides the AST, the parser reports where and why a trigger fails (the reference only says
"Cannot read properties of undefined (reading 'type')"), and warnings for quirks users trip on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amprelay.js import from_utf16, string_to_number, to_string, to_utf16

from . import lexer as lx
from .ast import PATH_ROOTS, Condition, Group, Node
from .properties import OBJECT_PROTO_NAMES

__all__ = ["KNOWN_OPERATORS", "MixedGroup", "ParseFailure", "ParseResult", "parse_trigger"]

UNDEFINED_TYPE_MESSAGE = "Cannot read properties of undefined (reading 'type')"

_FIELD_TYPES = {"type": "event-type", "event": "event", "name": "name", "userId": "userId"}
_STATEMENT_TYPES = {**_FIELD_TYPES, **PATH_ROOTS}
_FUNCTIONS = ("contains", "match")

#: Operators the reference evaluates; any other operator never matches.
KNOWN_OPERATORS = frozenset({
    "=", "!=", "<", "<=", ">", ">=", "number_equals", "number_not_equals", "contains", "not_contains",
    "starts_with", "not_starts_with", "ends_with", "not_ends_with", "exists", "not_exists", "is_true",
    "is_false",
})


@dataclass(frozen=True, slots=True)
class ParseFailure:
    reference_message: str  # the reference's error message
    reason: str  # what is wrong, for people
    position: int  # code-point offset in the trigger text


@dataclass(frozen=True, slots=True)
class MixedGroup:
    """A group that mixes `and` and `or`: the last one wins (the caller words the warning)."""

    group: Group
    position: int  # of the first conditional that the last one overrides


@dataclass(slots=True)
class ParseResult:
    ast: Group | None
    failure: ParseFailure | None
    warnings: list[str] = field(default_factory=list)
    mixed: list[MixedGroup] = field(default_factory=list)


class _Fail(Exception):
    def __init__(self, message: str, reason: str, unit_pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.unit_pos = unit_pos


def _token_value(token: lx.Token) -> str | float | bool:
    """getTokenValue: strings lose one leading and one trailing double quote."""
    if token.type == lx.STRING:
        v = token.value
        if v.startswith('"'):
            v = v[1:]
        if v.endswith('"'):
            v = v[:-1]
        return v
    if token.type == lx.NUMBER:
        return string_to_number(token.value)
    if token.type == lx.IDENT and token.value in ("true", "false"):
        return token.value == "true"
    return token.value


def _describe(token: lx.Token) -> str:
    if token.type == lx.EOS:
        return "the end of the trigger"
    return repr(token.value)


class _Parser:
    def __init__(self, lexed: lx.Lexed) -> None:
        self.lexed = lexed
        self.warnings: list[tuple[int, str]] = []
        self.mixed: list[tuple[Group, int]] = []

    def pos(self, unit_pos: int) -> int:
        return self.lexed.position_of(unit_pos)

    def warn(self, unit_pos: int, text: str) -> None:
        self.warnings.append((unit_pos, text.replace("{pos}", str(self.pos(unit_pos)))))

    # ------------------------------------------------------------------------------------------
    def parse(self, tokens: list[lx.Token], depth: int) -> Node | None:
        tokens.reverse()  # pop() from the end == shift() from the front
        shift = tokens.pop
        nodes: list[Node | None] = []
        operator = "and"
        conditionals: list[lx.Token] = []
        token = shift() if tokens else None
        while token is not None and token.type != lx.EOS:
            if token.type == lx.IDENT:
                start = token.value.split(".")[0]
                if start in _STATEMENT_TYPES or start in OBJECT_PROTO_NAMES:
                    op_token = shift() if tokens else None
                    if op_token is None:
                        raise _Fail("Operator token is missing",
                                    f"condition on {token.value!r} at position {{pos}} is incomplete (expected: field operator value)",
                                    token.pos)
                    value_token = shift() if tokens else None
                    if value_token is None:
                        raise _Fail("Value token is missing",
                                    f"condition on {token.value!r} at position {{pos}} is incomplete (expected: field operator value)",
                                    token.pos)
                    if start in _STATEMENT_TYPES:
                        nodes.append(self.condition(token, op_token, value_token))
                    else:
                        self.warn(token.pos, f"{token.value!r} at position {{pos}} is not a field; it is "
                                  "ignored together with the two tokens after it")
                elif token.value in _FUNCTIONS:
                    self.function(token, nodes, tokens, negate=False)
                else:
                    self.unknown_ident(token)
            elif token.type == lx.OPERATOR and token.value == "!":
                if not tokens:
                    raise _Fail(UNDEFINED_TYPE_MESSAGE, "'!' at position {pos} ends the trigger", token.pos)
                nxt = tokens[-1]
                if nxt.type == lx.IDENT and nxt.value in _FUNCTIONS:
                    shift()
                    self.function(nxt, nodes, tokens, negate=True, bang=token)
                else:
                    self.warn(token.pos, "'!' at position {pos} is ignored: only !contains(...) and "
                              "!match(...) negate; use != to negate a comparison")
            elif token.type == lx.PARENLEFT:
                if depth > 0:
                    raise _Fail(UNDEFINED_TYPE_MESSAGE,
                                "nested parentheses at position {pos} are not supported (a group "
                                "ends at the first ')')", token.pos)
                group_tokens: list[lx.Token] = []
                while True:
                    if not tokens:
                        raise _Fail(UNDEFINED_TYPE_MESSAGE,
                                    "'(' at position {pos} is never closed", token.pos)
                    g = shift()
                    if g.type == lx.PARENRIGHT:
                        break
                    group_tokens.append(g)
                group_tokens.append(lx.Token(lx.EOS, "eos", g.pos))
                child = self.parse(group_tokens, depth + 1)
                if child is None:
                    self.warn(token.pos, "the group at position {pos} has no condition; the reference "
                              "throws when it evaluates it, so events that reach it never match")
                nodes.append(child)
            elif token.type == lx.CONDITIONAL:
                operator = token.value
                conditionals.append(token)
            elif token.type == lx.PARENRIGHT and depth == 0:
                self.warn(token.pos, "')' at position {pos} has no matching '(' and is ignored")
            else:
                self.warn(token.pos, f"unexpected {_describe(token)} at position {{pos}} is ignored")
            token = shift() if tokens else None

        if len(nodes) > 1:
            group = Group(operator, tuple(nodes), self.pos(conditionals[0].pos) if conditionals else 0)
            kinds = {t.value for t in conditionals}
            if len(kinds) > 1:
                first_other = next(t for t in conditionals if t.value != operator)
                self.mixed.append((group, self.pos(first_other.pos)))
            return group
        return nodes[0] if nodes else None

    # ------------------------------------------------------------------------------------------
    def unknown_ident(self, token: lx.Token) -> None:
        v = token.value
        if v in ("AND", "OR", "And", "Or"):
            self.warn(token.pos, f"{v!r} at position {{pos}} is not an operator (operators are "
                      "lowercase 'and'/'or'); it is ignored")
        elif v in ("and", "or"):
            self.warn(token.pos, f"{v!r} at position {{pos}} is directly followed by '(' so it is read "
                      "as a name and ignored; put a space before '('")
        elif v == "not":
            self.warn(token.pos, "'not' at position {pos} is ignored: the trigger language has no 'not' "
                      "(use != or !contains/!match)")
        else:
            self.warn(token.pos, f"unknown field {v!r} at position {{pos}} is ignored (fields are type, "
                      "event, name, userId, properties.*, traits.*, context.*)")

    def condition(self, token: lx.Token, op_token: lx.Token, value_token: lx.Token) -> Condition:
        root = token.value.split(".")[0]
        op = op_token.value
        raw = value_token.value
        position = self.pos(token.pos)
        if value_token.type == lx.EOS:
            self.warn(token.pos, f"the condition on {token.value!r} at position {{pos}} has no value; it "
                      "compares with the text 'eos'")
        elif value_token.type == lx.STRING and raw.startswith("'"):
            self.warn(value_token.pos, f"the value {raw} at position {{pos}} is single-quoted: the quotes "
                      "are part of the value (use double quotes)")
        if op not in KNOWN_OPERATORS:
            self.warn(op_token.pos, f"operator {op!r} at position {{pos}} is not an operator; the condition "
                      "never matches")

        is_true = op == "=" and raw == "true"
        is_false = op == "=" and raw == "false"
        is_exists = op == "!=" and raw == "null"
        is_not_exists = op == "=" and raw == "null"
        is_number_eq = op == "=" and value_token.type == lx.NUMBER
        is_number_ne = op == "!=" and value_token.type == lx.NUMBER

        typ = _STATEMENT_TYPES[root]
        if typ in ("event", "event-type"):
            return Condition(typ, op, None, to_string(_token_value(value_token)), position)
        if typ == "name":
            if is_exists:
                return Condition(typ, "exists", None, None, position)
            if is_not_exists:
                return Condition(typ, "not_exists", None, None, position)
            return Condition(typ, op, None, to_string(_token_value(value_token)), position)
        if typ == "userId":
            if is_exists:
                return Condition(typ, "exists", None, None, position)
            if is_not_exists:
                return Condition(typ, "not_exists", None, None, position)
            if is_true:
                return Condition(typ, "is_true", None, None, position)
            if is_false:
                return Condition(typ, "is_false", None, None, position)
            return Condition(typ, op, None, to_string(_token_value(value_token)), position)
        name = token.value[len(root) + 1:] if token.value.startswith(root + ".") else token.value
        if is_exists:
            return Condition(typ, "exists", name, None, position)
        if is_not_exists:
            return Condition(typ, "not_exists", name, None, position)
        if is_true:
            return Condition(typ, "is_true", name, None, position)
        if is_false:
            return Condition(typ, "is_false", name, None, position)
        if is_number_eq:
            return Condition(typ, "number_equals", name, _token_value(value_token), position)
        if is_number_ne:
            return Condition(typ, "number_not_equals", name, _token_value(value_token), position)
        return Condition(typ, op, name, _token_value(value_token), position)

    def function(self, fn: lx.Token, nodes: list[Node | None], tokens: list[lx.Token], *, negate: bool,
                 bang: lx.Token | None = None) -> None:
        shift = tokens.pop
        name = fn.value
        start = bang if bang is not None else fn
        if tokens:
            shift()  # "("
        name_token = shift() if tokens else None
        if name_token is None:
            raise _Fail(f"{name}() is missing a 1st argument",
                        f"{name}() at position {{pos}} has no field argument", fn.pos)
        if tokens:
            shift()  # ","
        value_token = shift() if tokens else None
        if value_token is None:
            raise _Fail(f"{name}() is missing a 2nd argument",
                        f"{name}() at position {{pos}} has no value argument", fn.pos)
        if tokens:
            shift()  # ")"

        if name == "contains":
            operator = "not_contains" if negate else "contains"
            value = to_string(_token_value(value_token))
        else:
            units = to_utf16(to_string(_token_value(value_token)))
            if value_token.value.endswith('*"'):
                operator = "not_starts_with" if negate else "starts_with"
                value = from_utf16(units[:-1])
            else:
                operator = "not_ends_with" if negate else "ends_with"
                value = from_utf16(units[1:])
                if not value_token.value.startswith('"*'):
                    self.warn(value_token.pos, f"match() pattern {value_token.value} at position {{pos}} is "
                              f"read as 'ends with {value!r}' (only \"abc*\" and \"*abc\" are supported)")
        field_name = name_token.value
        position = self.pos(start.pos)
        before = len(nodes)
        if field_name in ("event", "name", "userId"):
            nodes.append(Condition(field_name, operator, None, value, position))
        for root, typ in PATH_ROOTS.items():
            if field_name.startswith(root):
                prefix = root + "."
                path = field_name[len(prefix):] if field_name.startswith(prefix) else field_name
                nodes.append(Condition(typ, operator, path, value, position))
        if len(nodes) == before:
            self.warn(start.pos, f"{name}() at position {{pos}} on {_describe(name_token)} produces no "
                      "condition: it only works on event, name, userId, properties.*, traits.*, context.*")


def _normalize(tokens: tuple[lx.Token, ...]) -> list[lx.Token]:
    """Merge `ident . ident` into one identifier `a.b` (left to right)."""
    out: list[lx.Token] = []
    i = 0
    n = len(tokens)
    while i < n:
        current = tokens[i]
        last = out[-1] if out else None
        nxt = tokens[i + 1] if i + 1 < n else None
        if last is not None and last.type == lx.IDENT and current.type == lx.DOT and nxt is not None \
                and nxt.type == lx.IDENT:
            out[-1] = lx.Token(lx.IDENT, f"{last.value}.{nxt.value}", last.pos)
            i += 2
        else:
            out.append(current)
            i += 1
    return out


def parse_trigger(text: str) -> ParseResult:
    """Parse trigger text the way the reference does."""
    lexed = lx.lex(text)
    parser = _Parser(lexed)
    if lexed.error is not None:
        err = lexed.error
        return ParseResult(None, ParseFailure(UNDEFINED_TYPE_MESSAGE, err.reason, lexed.position_of(err.pos)))
    try:
        node = parser.parse(_normalize(lexed.tokens), 0)
    except _Fail as fail:
        reason = fail.reason.replace("{pos}", str(lexed.position_of(fail.unit_pos)))
        return ParseResult(None, ParseFailure(fail.message, reason, lexed.position_of(fail.unit_pos)),
                           [w for _, w in parser.warnings])
    warnings = [w for _, w in sorted(parser.warnings, key=lambda pw: pw[0])]
    mixed = [MixedGroup(g, p) for g, p in parser.mixed]
    if node is None:
        if not lexed.tokens or lexed.tokens[0].type == lx.EOS:
            reason = "the trigger is empty"
            where = 0
        else:
            first_warning = min(parser.warnings, key=lambda pw: pw[0]) if parser.warnings else None
            reason = "the trigger has no condition on a known field"
            if first_warning is not None:
                reason += ": " + first_warning[1]
            where = lexed.position_of(first_warning[0]) if first_warning else 0
        return ParseResult(None, ParseFailure(UNDEFINED_TYPE_MESSAGE, reason, where), warnings)
    if isinstance(node, Group):
        return ParseResult(node, None, warnings, mixed)
    return ParseResult(Group("and", (node,)), None, warnings, mixed)
