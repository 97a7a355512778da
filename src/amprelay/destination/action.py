"""An action: fields declared as data plus one ``perform`` that turns a validated payload into
the HTTP requests the reference sends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amprelay.destination.request import AmplitudeRequest
from amprelay.destination.settings import Settings
from amprelay.fields.model import InputField


@dataclass(frozen=True, slots=True)
class Context:
    """What an action may know besides its payload and settings. ``now_ms`` is "now" in epoch
    milliseconds (Group Identify User without a time sends it)."""

    now_ms: int


Perform = Callable[[dict[str, Any], Settings, Context], list[AmplitudeRequest]]


@dataclass(frozen=True, slots=True)
class ActionDefinition:
    """One action of the destination (``key`` as in the reference, e.g. ``"logEventV2"``)."""

    key: str
    title: str
    description: str
    default_subscription: str
    fields: dict[str, InputField]
    perform: Perform
    hidden: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
