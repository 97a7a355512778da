"""Fault-injection and limit settings of the fake Amplitude server.

One mutable :class:`FaultConfig` lives in the app; ``POST /_fake/config`` and
``FakeAmplitudeHandle.configure`` update it field by field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# Amplitude's documented request limits (HTTP V2: "under 1 MB" and at most 2000 events; Batch: 20 MB,
# "the limit per batch is 2000 events"; Identify/Group Identify/usermap: 1 MB).
DEFAULT_BODY_LIMITS: dict[str, int] = {
    "/2/httpapi": 1_000_000,
    "/batch": 20_000_000,
    "/identify": 1_000_000,
    "/groupidentify": 1_000_000,
    "/usermap": 1_000_000,
}
DEFAULT_MAX_EVENTS_PER_REQUEST = 2000
DEFAULT_MIN_ID_LENGTH = 5
DEDUPE_WINDOW_MS = 7 * 24 * 3600 * 1000  # "insert_id ... within the past 7 days"

SERVER_ERROR_STATUSES = (500, 502, 503, 504)
DROP_MODES = ("before", "after")


@dataclass(slots=True)
class FaultConfig:
    """Everything that can be changed at runtime. ``None`` means "Amplitude's default"."""

    # Random faults (per ingest request; seeded for reproducibility).
    error_rate: float = 0.0  # share of requests answered with a random 5xx from error_statuses
    error_statuses: tuple[int, ...] = SERVER_ERROR_STATUSES
    drop_rate: float = 0.0  # share of requests whose connection is closed without an answer
    drop_mode: str = "before"  # "before": nothing recorded; "after": recorded, then dropped
    latency_ms: float = 0.0  # added before answering
    seed: int | None = None
    # Deterministic faults: the next N ingest requests fail / are dropped.
    fail_next: int = 0
    fail_status: int = 503  # any status; 429 and 413 get Amplitude's bodies for them
    drop_next: int = 0
    # Limits.
    eps_limit: int | None = None  # events per second per device_id and per user_id -> 429
    eps_window_s: float = 1.0  # the window the rate is measured over (Amplitude: ~30 s average)
    daily_limit: int | None = None  # events per device/user since start (or reset) -> 429
    max_body_bytes: int | None = None  # None: Amplitude's per-API limits (1 MB / 20 MB); 0: none
    max_events_per_request: int | None = DEFAULT_MAX_EVENTS_PER_REQUEST  # -> 413; None or 0: none
    # API keys.
    valid_api_keys: tuple[str, ...] = ()  # when set, every other key is invalid
    invalid_api_keys: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = ()  # when set, basic auth must use one of these secrets
    silenced_devices: tuple[str, ...] = ()  # -> 400 "Events silenced for device_id"
    # Recording.
    max_records: int | None = 1_000_000  # older records are forgotten past this many

    def body_limit(self, path: str) -> int | None:
        if self.max_body_bytes is not None:
            return self.max_body_bytes if self.max_body_bytes > 0 else None
        return DEFAULT_BODY_LIMITS.get(path)

    def api_key_is_valid(self, api_key: str) -> bool:
        if self.valid_api_keys and api_key not in self.valid_api_keys:
            return False
        return api_key not in self.invalid_api_keys

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (JSON-ish values); unknown names or bad values raise ValueError."""
        known = {f.name: f for f in dataclasses.fields(self)}
        staged: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}")
            staged[name] = _coerce(name, value)
        for name, value in staged.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out


_FLOATS = {"error_rate", "drop_rate", "latency_ms", "eps_window_s"}
_OPTIONAL_INTS = {"seed", "eps_limit", "daily_limit", "max_body_bytes", "max_events_per_request", "max_records"}
_INTS = {"fail_next", "fail_status", "drop_next"}
_STR_TUPLES = {"valid_api_keys", "invalid_api_keys", "secret_keys", "silenced_devices"}


def _coerce(name: str, value: Any) -> Any:
    if name in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        v = float(value)
        if name in ("error_rate", "drop_rate") and not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1")
        if v < 0:
            raise ValueError(f"{name} must be >= 0")
        return v
    if name in _OPTIONAL_INTS:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer or null")
        return value
    if name in _INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
        if name == "fail_status" and not 400 <= value <= 599:
            raise ValueError("fail_status must be a 4xx or 5xx status")
        return value
    if name in _STR_TUPLES:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name} must be a list of strings")
        return tuple(value)
    if name == "error_statuses":
        if isinstance(value, int):
            value = [value]
        if not isinstance(value, list | tuple) or not value or not all(
            isinstance(v, int) and 500 <= v <= 599 for v in value
        ):
            raise ValueError("error_statuses must be a non-empty list of 5xx codes")
        return tuple(value)
    if name == "drop_mode":
        if value not in DROP_MODES:
            raise ValueError(f"drop_mode must be one of {DROP_MODES}")
        return value
    raise ValueError(f"unknown setting {name!r}")  # pragma: no cover


def make_config(**changes: Any) -> FaultConfig:
    config = FaultConfig()
    config.update(changes)
    return config


__all__ = [
    "DEDUPE_WINDOW_MS",
    "DEFAULT_BODY_LIMITS",
    "DEFAULT_MAX_EVENTS_PER_REQUEST",
    "DEFAULT_MIN_ID_LENGTH",
    "FaultConfig",
    "SERVER_ERROR_STATUSES",
    "make_config",
]
