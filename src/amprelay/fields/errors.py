"""Validation errors worded as ``@segment/ajv-human-errors`` (``AggregateAjvError``) words them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from amprelay.errors import AmprelayError
from amprelay.js import number_to_string, real_type_of

__all__ = ["FieldIssue", "PayloadValidationError", "humanize_list", "type_message"]

_FORMAT_LABELS = {
    "date-time": "date and time",
    "time": "time",
    "date": "date",
    "email": "email address",
    "hostname": "hostname",
    "ipv4": "IPv4 address",
    "ipv6": "IPv6 address",
    "uri": "URI",
    "uri-reference": "URI Reference",
    "uri-template": "URI-template",
    "json-pointer": "JSON Pointer",
    "relative-json-pointer": "relative JSON Pointer",
    "regex": "regular expression",
}


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """One failed check: the JSON pointer of the value (``""`` = the payload) and the sentence."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return self.message


class PayloadValidationError(AmprelayError, ValueError):
    """The payload does not satisfy the action's fields. ``str(e)`` is the reference's message: every
    issue's sentence, joined by a space. ``errors`` lists the issues in the reference's order."""

    status = 400

    def __init__(self, message: str, errors: list[FieldIssue] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[FieldIssue] = errors if errors is not None else []

    @classmethod
    def from_issues(cls, issues: list[FieldIssue]) -> PayloadValidationError:
        return cls(" ".join(i.message for i in issues), issues)


def _indefinite_article(s: str) -> str:
    return "an" if s[:1] in ("a", "e", "i", "o", "u") else "a"


def humanize_list(items: list[str], conjunction: str = "and") -> str:
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return f"{', '.join(items[:-1])}, {conjunction} {items[-1]}"


def _humanize_type_of(value: Any) -> str:
    t = real_type_of(value)
    if t == "null":
        return "null"
    if t == "array":
        return "an array"
    if t == "object":
        return "an object"
    return f"{_indefinite_article(t)} {t}"


def preamble(title: str | None, pointer: str) -> str:
    if title:
        return title
    if pointer == "":
        return "the root value"
    return f"the value at {pointer}"


def _sentence(s: str) -> str:
    return s[:1].upper() + s[1:] + "."


def type_message(title: str | None, pointer: str, types: tuple[str, ...], data: Any) -> str:
    expect = humanize_list(list(types), "or")
    return _sentence(
        f"{preamble(title, pointer)} must be {_indefinite_article(expect)} {expect} but it was {_humanize_type_of(data)}"
    )


def _js_stringify(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, int | float):
        return number_to_string(v) if v == v and v not in (float("inf"), float("-inf")) else "null"
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def enum_message(title: str | None, pointer: str, allowed: tuple[Any, ...]) -> str:
    listed = humanize_list([_js_stringify(v) for v in allowed], "or")
    return _sentence(f"{preamble(title, pointer)} must be one of: {listed}")


def format_message(title: str | None, pointer: str, fmt: str) -> str:
    label = _FORMAT_LABELS.get(fmt, fmt)
    return _sentence(f"{preamble(title, pointer)} must be a valid {label} string but it was not")


def required_message(title: str | None, pointer: str, missing: str) -> str:
    return _sentence(f"{preamble(title, pointer)} is missing the required field '{missing}'")


def _plural(word: str, n: float) -> str:
    return word if n == 1 else word + "s"


def length_message(title: str | None, pointer: str, limit: float, actual: int, which: str) -> str:
    lim = number_to_string(limit)
    more = "more" if which == "min" else "fewer"
    return _sentence(
        f"{preamble(title, pointer)} must be {lim} {_plural('character', limit)} or {more} "
        f"but it was {actual} {_plural('character', actual)}"
    )


def bound_message(title: str | None, pointer: str, limit: float, which: str) -> str:
    rel = "greater" if which == "min" else "less"
    return _sentence(f"{preamble(title, pointer)} must be equal to or {rel} than {number_to_string(limit)}")
