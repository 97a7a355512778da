"""The destination's settings: API Key, Secret Key (both secret) and Endpoint Region."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from amprelay.destination.endpoints import DEFAULT_REGION, REGIONS
from amprelay.errors import AmprelayError
from amprelay.fields.model import InputField
from amprelay.js import UNDEFINED
from amprelay.masking import MASK, SECRET_KEYS, mask_value

__all__ = ["MASK", "SECRET_KEYS", "SETTINGS_FIELDS", "Settings", "SettingsError", "mask_secret", "mask_secrets"]

SETTINGS_FIELDS: dict[str, InputField] = {
    "apiKey": InputField(
        key="apiKey",
        label="API Key",
        description='Amplitude project API key. You can find this key in the "General" tab of your Amplitude project.',
        type="password",
        required=True,
    ),
    "secretKey": InputField(
        key="secretKey",
        label="Secret Key",
        description='Amplitude project secret key. You can find this key in the "General" tab of your Amplitude project.',
        type="password",
        required=True,
    ),
    "endpoint": InputField(
        key="endpoint",
        label="Endpoint Region",
        description="The region to send your data.",
        type="string",
        format="text",
        choices=(
            {"label": "North America", "value": "north_america"},
            {"label": "Europe", "value": "europe"},
        ),
        default="north_america",
        has_default=True,
    ),
}


class SettingsError(AmprelayError, ValueError):
    """Settings that cannot be used (a required key missing, an unknown region)."""


def mask_secret(value: Any) -> str:
    """``"abcd…"`` -> ``"****…"`` keeping nothing of the secret but whether it is set."""
    if value is UNDEFINED or value is None:
        return "<not set>"
    if value == "":
        return "<empty>"
    return MASK


# The masking lives in amprelay.masking (one function for every exit); these names stay for callers.
mask_secrets = mask_value


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings of one destination instance. ``api_key`` / ``secret_key`` keep the raw values
    (``UNDEFINED`` when absent: the reference then sends no ``api_key`` in JSON bodies and the
    string ``"undefined"`` in form bodies). ``endpoint`` is the raw region value; unknown regions
    resolve to North America. The repr never shows the secrets."""

    api_key: Any = UNDEFINED
    secret_key: Any = field(default=UNDEFINED)
    endpoint: Any = DEFAULT_REGION

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Settings:
        """From the reference's settings object (``apiKey``, ``secretKey``, ``endpoint``);
        not validated (see :meth:`validate`)."""
        raw = raw or {}
        return cls(
            api_key=raw.get("apiKey", UNDEFINED),
            secret_key=raw.get("secretKey", UNDEFINED),
            endpoint=raw.get("endpoint", UNDEFINED),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """From ``AMPLITUDE_API_KEY``, ``AMPLITUDE_SECRET_KEY`` and ``AMPLITUDE_REGION``."""
        env = os.environ if environ is None else environ
        return cls(
            api_key=env.get("AMPLITUDE_API_KEY", UNDEFINED),
            secret_key=env.get("AMPLITUDE_SECRET_KEY", UNDEFINED),
            endpoint=env.get("AMPLITUDE_REGION", DEFAULT_REGION) or DEFAULT_REGION,
        )

    @property
    def region(self) -> str:
        return self.endpoint if self.endpoint in REGIONS else DEFAULT_REGION

    def validate(self) -> None:
        """Raise :class:`SettingsError` unless both keys are non-empty strings and the region
        is known (the reference's authentication fields)."""
        problems = []
        for name, value in (("apiKey", self.api_key), ("secretKey", self.secret_key)):
            if not isinstance(value, str) or not value:
                problems.append(f"{SETTINGS_FIELDS[name].label} ({name}) is required")
        if self.endpoint is not UNDEFINED and self.endpoint not in REGIONS:
            problems.append(f"Endpoint Region must be one of {', '.join(REGIONS)}, got {self.endpoint!r}")
        if problems:
            raise SettingsError("; ".join(problems))

    def to_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        """The reference's settings object; secrets masked unless ``reveal``."""
        out: dict[str, Any] = {}
        for key, value in (("apiKey", self.api_key), ("secretKey", self.secret_key)):
            if value is not UNDEFINED:
                out[key] = value if reveal else mask_secret(value)
        if self.endpoint is not UNDEFINED:
            out["endpoint"] = self.endpoint
        return out

    def __repr__(self) -> str:
        return (
            f"Settings(api_key={mask_secret(self.api_key)!r}, secret_key={mask_secret(self.secret_key)!r}, "
            f"endpoint={self.endpoint!r})"
        )

    __str__ = __repr__
