"""Delivery's settings: the config's ``delivery:`` section (:class:`DeliveryOptions`) plus
delivery's own timings and limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from amprelay import defaults
from amprelay.delivery.batcher import Limit


@dataclass
class DeliverySettings:
    # from the config's `delivery:` section (amprelay.defaults declares their defaults once)
    max_age_seconds: float = defaults.MAX_AGE_SECONDS
    linger_ms: float = defaults.LINGER_MS
    batch_wait_ms: float = defaults.BATCH_WAIT_MS
    concurrency: int = defaults.CONCURRENCY
    timeout_seconds: float = defaults.TIMEOUT_SECONDS
    failure_warning_seconds: float = defaults.FAILURE_WARNING_SECONDS
    failure_repeat_seconds: float = defaults.FAILURE_REPEAT_SECONDS
    # delivery's own
    lease_units: int = 4000  # units per round
    lease_seconds: float = 300.0
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 600.0
    hold_seconds: float = 60.0  # invalid API key: probe again after this long
    throttle_seconds: float = 30.0  # 429: pause for the throttled users/devices (Amplitude: 15-30 s)
    quota_seconds: float = 3600.0  # 429 past a daily quota
    cap_seconds: float = 300.0  # a 413 lowers the route's batch limit for this long
    poll_seconds: float = 0.25
    stats_interval_seconds: float = 5.0
    limits: dict[str, Limit] | None = None

    @classmethod
    def from_config(cls, cfg: DeliveryOptions, *, poll_seconds: float = 0.25) -> DeliverySettings:
        """From the config's ``delivery:`` section (``amprelay.config.DeliveryConfig``)."""
        return cls(max_age_seconds=cfg.max_age_seconds, linger_ms=cfg.linger_ms, batch_wait_ms=cfg.batch_wait_ms,
                   concurrency=cfg.concurrency,
                   timeout_seconds=cfg.timeout_seconds, failure_warning_seconds=cfg.failure_warning_seconds,
                   failure_repeat_seconds=cfg.failure_repeat_seconds, poll_seconds=poll_seconds)


class DeliveryOptions(Protocol):
    """What delivery reads of the config's ``delivery:`` section (``amprelay.config.DeliveryConfig``
    has these attributes; delivery sits beside the config in the import layers, not above it)."""

    @property
    def max_age_seconds(self) -> float: ...
    @property
    def linger_ms(self) -> float: ...
    @property
    def batch_wait_ms(self) -> float: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def failure_warning_seconds(self) -> float: ...
    @property
    def failure_repeat_seconds(self) -> float: ...
