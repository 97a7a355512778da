"""The one masking function of amprelay: every exit (logs, console pages, live events,
dead-letter reasons, CLI output) passes text and values through here.

Three things are masked:

* the **configured secrets** (API keys, secret keys, the admin token, write keys): registered
  once with :func:`register_secrets` when a config is loaded, then replaced wherever they occur
  in text (values shorter than :data:`MIN_TEXT_SECRET` characters are masked only as field
  values: masking "abc" inside every word would make text unreadable);
* **labelled secrets** in any text: ``Invalid API key: <value>``, ``api_key=<value>``,
  ``"secretKey": "<value>"``, ``Authorization: Bearer <value>`` keep their label and lose
  their value, whether or not the value was configured (a rotated key, another project's key);
* in **Amplitude's answers** only (:func:`mask_answer`), anything with the shape of an
  Amplitude key (32 hex digits).

Values in objects: a field named like a secret (``api_key``, ``apiKey``, ``secretKey``,
``writeKey``, ``admin_token``, ...) has its value replaced by :data:`MASK`; other strings go
through :func:`mask_text`.

This module imports nothing of amprelay, so every layer may use it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "********"
MIN_TEXT_SECRET = 8

# Field names whose values are secrets, compared without case, "_" and "-".
_SECRET_FIELD_NAMES = frozenset({"apikey", "secretkey", "writekey", "admintoken", "password", "authorization"})
# The spellings the reference and the config use (kept for callers that test membership).
SECRET_KEYS = frozenset({"api_key", "apiKey", "secretKey", "secret_key", "writeKey", "write_key", "admin_token"})

_LABELLED = re.compile(
    r"(?P<label>(?:api|secret|write)[\s_-]?key|admin[\s_-]?token|password"
    r"|authorization[\"']?\s*[:=]\s*[\"']?(?:basic|bearer))"
    r"(?P<sep>[\"']?\s*[:=]?\s*[\"']?|\s+)"
    r"(?P<value>[A-Za-z0-9+/=._~-]{4,})",
    re.IGNORECASE,
)
_KEY_SHAPE = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])")
# Words that follow a label without being a secret ("API key is invalid", "write key: not set").
_NOT_A_VALUE = frozenset({"is", "was", "not", "none", "null", "missing", "invalid", "set", "unset", "required",
                          "empty", "of", "for", "the", "and", "from", "in", "to", "must", "masked"})


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[Any]) -> None:
        new = {v for v in values if isinstance(v, str) and v and v != MASK}
        with self._lock:
            if new <= self._values:
                return
            self._values |= new
            long = sorted((v for v in self._values if len(v) >= MIN_TEXT_SECRET), key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in long)) if long else None

    def clear(self) -> None:
        with self._lock:
            self._values = set()
            self._pattern = None

    def contains(self, value: str) -> bool:
        return value in self._values

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return self._pattern


_registry = _Registry()


def register_secrets(values: Iterable[Any]) -> None:
    """Mask these values from now on, wherever they appear (non-strings and empties are ignored)."""
    _registry.add(values)


def forget_secrets() -> None:
    """Forget every registered secret (tests)."""
    _registry.clear()


def _labelled(m: re.Match[str]) -> str:
    value = m.group("value")
    if value == MASK or value.lower() in _NOT_A_VALUE or value.startswith("<"):
        return m.group(0)
    if not m.group("label").lower().startswith("authorization") and not m.group("sep").strip() \
            and not any(c.isdigit() for c in value):
        return m.group(0)  # "API key Foo": no separator and no digit is prose, not a key
    return m.group("label") + m.group("sep") + MASK


def mask_text(text: str) -> str:
    """``text`` without the registered secrets and without the values of labelled secrets."""
    if not text:
        return text
    pattern = _registry.pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _LABELLED.sub(_labelled, text)


def mask_answer(text: str) -> str:
    """Text from Amplitude (an error, an answer's body): :func:`mask_text`, and anything with
    the shape of an Amplitude key masked too."""
    return _KEY_SHAPE.sub(MASK, mask_text(text)) if text else text


def is_secret_field(name: Any) -> bool:
    return isinstance(name, str) and name.lower().replace("_", "").replace("-", "") in _SECRET_FIELD_NAMES


def mask_value(value: Any) -> Any:
    """A copy of a JSON-like value for showing: secret fields' values replaced by :data:`MASK`,
    every other string through :func:`mask_text`."""
    if isinstance(value, str):
        if _registry.contains(value):
            return MASK
        return mask_text(value)
    if isinstance(value, dict):
        return {k: (MASK if is_secret_field(k) and isinstance(v, str) and v else mask_value(v))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


class MaskingFilter(logging.Filter):
    """A logging filter (put it on a handler) that masks each record's message, its structured
    ``fields`` and its traceback before any formatter sees them. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            return True
        record.msg = mask_text(message)
        record.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = mask_value(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True
