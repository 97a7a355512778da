"""compile_trigger(): trigger text -> Trigger (AST, compiled matcher, error, warnings)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from amprelay.errors import AmprelayError

from .ast import Condition, Group
from .compiler import CompiledTrigger, MatchFn, compile_ast
from .format import FormatError, format_condition
from .parser import MixedGroup, parse_trigger
from .properties import JSThrow

__all__ = ["MatchResult", "Trigger", "TriggerError", "compile_trigger"]


class TriggerError(AmprelayError, ValueError):
    """Why a trigger never matches (phase "parse") or why evaluating it threw (phase "evaluate").

    `reference_message` is the reference's own error text (often just
    "Cannot read properties of undefined (reading 'type')"); `message` adds where and why.
    """

    def __init__(self, reference_message: str, reason: str, position: int | None, text: str,
                 phase: Literal["parse", "evaluate"] = "parse") -> None:
        self.reference_message = reference_message
        self.reason = reason
        self.position = position
        self.text = text
        self.phase = phase
        super().__init__(self.message)

    @property
    def line_column(self) -> tuple[int, int] | None:
        if self.position is None:
            return None
        before = self.text[: self.position]
        return before.count("\n") + 1, self.position - (before.rfind("\n") + 1) + 1

    @property  # type: ignore[misc]  # computed: read-only here, settable on other AmprelayErrors
    def message(self) -> str:
        """The reason, naming the position (and line/column when the trigger has several lines)."""
        if self.position is None:
            if self.phase == "evaluate":
                return f"{self.reason} (the reference threw: {self.reference_message})"
            return self.reason
        lc = self.line_column
        where = f"position {self.position}"
        if lc is not None and "\n" in self.text:
            where += f", line {lc[0]}, column {lc[1]}"
        if f"position {self.position}" in self.reason:
            return self.reason if where == f"position {self.position}" else f"{self.reason} ({where})"
        return f"{self.reason} (at {where})"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"TriggerError({self.message!r})"


@dataclass(frozen=True, slots=True)
class MatchResult:
    match: bool
    error: TriggerError | None


def _never(_event: Any) -> bool:
    return False


def _mixed_warning(mixed: MixedGroup) -> str:
    group = mixed.group
    try:
        parts = [("()" if c is None else format_condition(c) if isinstance(c, Condition) else "(...)")
                 for c in group.children]
    except FormatError:
        parts = ["..."] * len(group.children)
    evaluated = f" {group.operator} ".join(parts)
    other = "and" if group.operator == "or" else "or"
    return (f"ambiguous: '{other}' at position {mixed.position} is mixed with '{group.operator}' without "
            f"parentheses; there is no precedence, a group uses its last operator, so this is evaluated "
            f"as: {evaluated}")


class Trigger:
    """A compiled subscription trigger.

    `matches(event)` never raises: an invalid trigger never matches, and an evaluation the reference
    would abort with an exception counts as no match (`evaluate` reports that error).
    """

    matches: MatchFn

    def __init__(self, text: str) -> None:
        self.text = text
        result = parse_trigger(text)
        self.ast: Group | None = result.ast
        self.warnings: list[str] = list(result.warnings) + [_mixed_warning(m) for m in result.mixed]
        self.error: TriggerError | None = None
        self._compiled: CompiledTrigger | None = None
        if result.failure is not None or result.ast is None:
            f = result.failure
            assert f is not None
            self.error = TriggerError(f.reference_message, f.reason, f.position, text)
            self.matches = _never
        else:
            self._compiled = compile_ast(result.ast)
            self.matches = self._compiled.fast

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def source(self) -> str | None:
        """The generated Python source of the fast matcher."""
        return self._compiled.fast_source if self._compiled else None

    def evaluate(self, event: Any) -> MatchResult:
        """Match with the error the reference would report (parse error, or one thrown evaluating)."""
        if self._compiled is None:
            return MatchResult(False, self.error)
        try:
            return MatchResult(self._compiled.generic(event), None)
        except JSThrow as thrown:
            reason = "the trigger has an empty group, which the reference cannot evaluate" \
                if "undefined (reading 'type')" in thrown.message else thrown.message
            return MatchResult(False, TriggerError(thrown.message, reason, None, self.text, "evaluate"))
        except Exception as exc:  # never expected; do not let one event break delivery
            return MatchResult(False, TriggerError(str(exc), f"internal error: {exc!r}", None, self.text,
                                                   "evaluate"))

    def __repr__(self) -> str:
        state = "invalid" if self.error else "valid"
        return f"Trigger({self.text!r}, {state})"


@lru_cache(maxsize=4096)
def compile_trigger(text: str) -> Trigger:
    """Parse and compile trigger text once (cached by text)."""
    if not isinstance(text, str):
        raise TypeError("trigger text must be a string")
    return Trigger(text)


def reference_error_text(error: TriggerError | None) -> str | None:
    """The error text as the conformance recordings show it."""
    if error is None:
        return None
    if error.phase == "evaluate":
        return f"validate threw: {error.reference_message}"
    return error.reference_message
