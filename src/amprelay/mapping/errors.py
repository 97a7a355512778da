"""Exceptions of the mapping engine."""

from __future__ import annotations

from amprelay.errors import AmprelayError


class MappingError(AmprelayError):
    """Base class of mapping errors."""


class MappingValidationError(MappingError):
    """The mapping document is invalid (mapping-kit `validate` threw).

    `errors` holds `(json_path, message)` pairs; `message` is the reference's full wording,
    e.g. ``/user_id/@template should be a string or a mapping directive but it is a number.``
    """

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = list(errors)
        super().__init__(" ".join(message for _, message in self.errors))


class MappingRuntimeError(MappingError):
    """Resolving the mapping against an event threw (mapping-kit runtime `Error`)."""
