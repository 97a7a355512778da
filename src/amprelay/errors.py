"""The root of every error amprelay raises on purpose: catch ``AmprelayError`` (or a branch)
by type, read ``exc.message`` (the text for people; ``str(exc)`` where no other is set).

Each class lives next to the code that raises it; a class that callers also catch as
``ValueError`` keeps that as its second base.

    AmprelayError
    ├── ConfigError                    amprelay.config: the configuration file is invalid
    ├── TriggerError (ValueError)      amprelay.triggers: a trigger never matches, or threw
    ├── FormatError (ValueError)       amprelay.triggers.format: an AST with no trigger text
    ├── MappingError                   amprelay.mapping
    │   ├── MappingValidationError         the mapping document is invalid
    │   └── MappingRuntimeError            resolving it against an event threw
    ├── LiquidError                    amprelay.mapping.liquid: a template amprelay cannot render
    ├── PayloadValidationError (ValueError)  amprelay.fields: the payload fails the action's fields
    ├── SettingsError (ValueError)     amprelay.destination.settings: destination settings
    ├── ActionError                    amprelay.engine: an event could not become requests
    │   ├── UnknownActionError, InvalidMappingError, MappingEvaluationError,
    │   └── PayloadError, InvalidEventError, TooManySubscriptionsError
    ├── UnsupportedRequest (ValueError)  amprelay.delivery.units: no delivery unit for a request
    ├── InvalidMessage (ValueError)    amprelay.spec: not a Segment message
    ├── IngestError                    amprelay.server.ingest: a request body is refused
    ├── JSONParseError (ValueError)    amprelay.js.json: not JSON as JSON.parse reads it
    ├── CommandError                   amprelay.cli.main: a user mistake on the command line (exit 2)
    ├── Unavailable                    here: the relay cannot keep more now (store full, disk nearly
    │                                      full, database down); the server answers 503 + Retry-After
    ├── DataDirInUse                   amprelay.store.lock: another process writes the data dir
    ├── SessionStoreUnavailable        amprelay.store.sessions: the session store cannot be reached
    └── SettingsFileError (ValueError)  amprelay.cli: an Amplitude settings file is unreadable

Exceptions used only as control flow inside one module (``_Fail``, ``_Invalid``...) are
private and never escape it.
"""

from __future__ import annotations

__all__ = ["AmprelayError", "Unavailable"]


class AmprelayError(Exception):
    """Base class of amprelay's errors."""

    @property
    def message(self) -> str:
        """The explanation for people (``str(self)`` unless a subclass sets another)."""
        return self.__dict__.get("_message", str(self))

    @message.setter
    def message(self, value: str) -> None:
        self._message = value


class Unavailable(AmprelayError):
    """The relay can't keep more right now (store full, disk nearly full, database down): raised by
    the relay and the store, answered by the server as 503 with ``Retry-After: retry_after``."""

    def __init__(self, reason: str, retry_after: int = 5):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
