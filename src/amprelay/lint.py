"""`amprelay validate`'s lints: triggers that the reference parser accepts but that cannot do what
they say, mapping keys that are not fields of the action, and "did you mean" suggestions.

The trigger lints describe what @segment/destination-subscriptions 3.37.0 really does with the
text (checked against it: ``type == "group"`` parses as ``type = "="``, a trailing ``and`` is
dropped, ``event.name`` is read as ``event``), so a warning never claims more than the reference.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from amprelay.triggers import Condition, FormatError, Group, compile_trigger, format_trigger
from amprelay.triggers import lexer as lx
from amprelay.triggers.parser import KNOWN_OPERATORS

#: The Segment spec's message types: the only values `type` ever has.
EVENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")
#: Which message types carry a top-level field a trigger can name (the others never have it).
FIELD_CARRIERS = {"event": ("track",), "name": ("page", "screen")}
_TOP_FIELDS = ("type", "event", "name", "userId")
_PATH_FIELDS = ("properties", "traits", "context")


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"``, or "" when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def trigger_warnings(text: str) -> list[str]:
    """Everything questionable about a trigger: the parser's own warnings, then these lints.
    Empty for an invalid trigger (its error says it all)."""
    trigger = compile_trigger(text)
    if trigger.error is not None or trigger.ast is None:
        return []
    lexed = lx.lex(text)
    tokens = [t for t in lexed.tokens if t.type != lx.EOS]
    pos = lexed.position_of
    found: list[tuple[int, str]] = []
    swallowed: set[int] = set()  # positions of tokens a lint explains better than the parser

    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        if tok.type == lx.OPERATOR and nxt is not None and nxt.type == lx.OPERATOR and i > 0 \
                and tokens[i - 1].type == lx.IDENT:
            field = tokens[i - 1].value
            doubled = tok.value + nxt.value
            hint = " (compare with a single '=')" if doubled == "==" else ""
            found.append((pos(tok.pos), f"{doubled!r} at position {pos(tok.pos)} is not an operator{hint}: the "
                          f"reference reads {field} {tok.value} \"{nxt.value}\", which no event has, so the "
                          "condition never matches"))
            if after is not None:
                swallowed.add(pos(after.pos))
        if tok.type == lx.CONDITIONAL:
            prev = tokens[i - 1] if i > 0 else None
            dangling = (prev is None or prev.type in (lx.CONDITIONAL, lx.PARENLEFT) or nxt is None
                        or nxt.type in (lx.CONDITIONAL, lx.PARENRIGHT))
            if dangling:
                found.append((pos(tok.pos), f"{tok.value!r} at position {pos(tok.pos)} joins nothing on one side; "
                              f"the reference drops it{_evaluated_as(trigger.ast)}"))

    for cond in _conditions(trigger.ast):
        found.extend(_condition_lints(cond, lexed, tokens))
    found.extend(_group_lints(trigger.ast))

    parser_warnings = [w for w in trigger.warnings if not any(f"at position {p} is ignored" in w for p in swallowed)]
    return parser_warnings + [message for _, message in sorted(found, key=lambda pm: pm[0])]


def _evaluated_as(ast: Group) -> str:
    try:
        return f", so the trigger is: {format_trigger(ast)}"
    except FormatError:
        return ""


def _conditions(node: Any) -> Iterable[Condition]:
    if isinstance(node, Condition):
        yield node
    elif isinstance(node, Group):
        for child in node.children:
            yield from _conditions(child)


def _condition_lints(cond: Condition, lexed: lx.Lexed, tokens: list[lx.Token]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    at = cond.position
    source = next((t.value for t in _normalized(tokens) if lexed.position_of(t.pos) == at and t.type == lx.IDENT), "")
    root = source.split(".")[0]
    if root in _TOP_FIELDS and "." in source:
        out.append((at, f"{source!r} at position {at}: {root} has no fields; the reference reads it as {root} "
                    f"(drop {source[len(root):]!r})"))
    if root in _PATH_FIELDS and source == root:
        out.append((at, f"{source!r} at position {at} names no field inside {root}: the reference looks for "
                    f"a field called {root!r} inside {root} ({root}.{root}); write {root}.<field>"))
    if cond.type == "event-type" and cond.operator in ("=", "!=") and isinstance(cond.value, str) \
            and cond.value not in EVENT_TYPES and cond.operator in KNOWN_OPERATORS and cond.value not in ("=", "!="):
        verdict = "never matches" if cond.operator == "=" else "matches every event"
        out.append((at, f"type {cond.operator} \"{cond.value}\" at position {at} {verdict}: type is one of "
                    f"{', '.join(EVENT_TYPES)}{did_you_mean(cond.value, EVENT_TYPES)}"))
    return out


def _normalized(tokens: list[lx.Token]) -> list[lx.Token]:
    from amprelay.triggers.parser import _normalize

    return _normalize(tuple(tokens))


def _group_lints(node: Any) -> list[tuple[int, str]]:
    """An `and` group that asks for two types, or for a field the asked type never carries."""
    if not isinstance(node, Group):
        return []
    out: list[tuple[int, str]] = []
    for child in node.children:
        out.extend(_group_lints(child))
    if node.operator != "and":
        return out
    conds = [c for c in node.children if isinstance(c, Condition)]
    types = {c.value for c in conds if c.type == "event-type" and c.operator == "=" and c.value in EVENT_TYPES}
    if len(types) > 1:
        first = min(c.position for c in conds if c.type == "event-type")
        out.append((first, f"the conditions at position {first} ask for type {' and '.join(sorted(map(str, types)))} "
                    "at once: an event has one type, so this never matches (use 'or' in parentheses)"))
    elif len(types) == 1:
        [typ] = types
        for c in conds:
            carriers = FIELD_CARRIERS.get(c.type)
            if carriers and typ not in carriers and c.operator not in ("not_exists", "!="):
                out.append((c.position, f"{c.type} at position {c.position} is a field of {' and '.join(carriers)} "
                            f"events; a {typ} event never has it, so this never matches"))
    return out


def mapping_problems(action_key: str, mapping: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(key, message) for each top-level mapping key that is not a field of the action."""
    from amprelay.destination import ACTIONS

    if not mapping or action_key not in ACTIONS:
        return []
    fields = ACTIONS[action_key].fields
    return [(key, f"{key!r} is not a field of {ACTIONS[action_key].title} ({action_key})"
             f"{did_you_mean(key, fields)}; its fields: {', '.join(fields)}")
            for key in mapping if key != "defaults" and key not in fields]
