"""The config file's sections as pydantic models (validated by :func:`amprelay.config.parse_config`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from amprelay import defaults


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionPluginConfig(_Model):
    """The browser session plugin analytics.js loads from the relay's CDN settings
    (``GET /v1/projects/<writeKey>/settings``), with the settings it is given."""

    enabled: bool = True
    session_length_ms: int | None = Field(None, ge=0)  # None: the plugin's 30 minutes; 0: a session per event
    allow_session_tracking: bool = False  # send session_ended / session_started track events
    session_start_event: str = Field("session_started", min_length=1)
    session_end_event: str = Field("session_ended", min_length=1)
    correct_session_end: bool = False  # end event only for a real end, with the ended session's id

    def plugin_settings(self) -> dict[str, Any]:
        """The settings as the plugin reads them (Segment's field names)."""
        out: dict[str, Any] = {"allowSessionTracking": self.allow_session_tracking,
                               "sessionStartEvent": self.session_start_event,
                               "sessionEndEvent": self.session_end_event}
        if self.session_length_ms is not None:
            out["sessionLength"] = self.session_length_ms
        if self.correct_session_end:
            out["correctSessionEnd"] = True
        return out


class SourceConfig(_Model):
    name: str
    write_key: SecretStr
    session_plugin: SessionPluginConfig = SessionPluginConfig()


class SubscriptionConfig(_Model):
    name: str
    id: str | None = None  # the subscription's id in Segment, kept for `export-segment`
    trigger: str
    action: str
    # None: the action's default mapping. An object is the complete mapping, unless it has
    # `defaults: true`, in which case its keys override the action's defaults.
    mapping: dict[str, Any] | None = None
    enabled: bool = True


class SessionConfig(_Model):
    """Server-side sessions (off by default): assign session_id to events that have none."""

    enabled: bool = False
    gap_minutes: float = Field(30, gt=0)


class DestinationConfig(_Model):
    name: str = "amplitude"
    settings: dict[str, Any]
    presets: bool = False
    subscriptions: list[SubscriptionConfig] = []
    sources: list[str] | None = None  # None: every source
    stable_insert_id: bool = True
    server_sessions: SessionConfig = SessionConfig()


class QueueConfig(_Model):
    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: str | None = None  # sqlite file; default <data_dir>/amprelay.sqlite3
    dsn: str | None = None  # postgres
    bucket_lease_seconds: float = Field(defaults.BUCKET_LEASE_SECONDS, gt=0)  # postgres: how long a dead relay keeps its partitions
    vacuum_units: int = Field(defaults.VACUUM_UNITS, ge=0)  # postgres: VACUUM the units every so many deleted (0: autovacuum only)
    max_bytes: int = Field(10 * 1024**3, gt=0)  # refuse ingest (503) above this
    min_free_disk_bytes: int = Field(512 * 1024**2, ge=0)


class ServerConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8088, ge=0, le=65535)
    # what one request may carry (Segment's limits); items over them are rejected with a reason
    max_message_bytes: int = Field(32 * 1024, gt=0)
    max_batch_bytes: int = Field(500 * 1024, gt=0)
    max_batch_messages: int = Field(2500, gt=0)
    max_nesting_depth: int = Field(64, ge=2, le=128)
    # optional: messages a second per write key (429 with Retry-After over it); burst default 2 s worth
    rate_limit_per_second: float | None = Field(None, gt=0)
    rate_limit_burst: int | None = Field(None, gt=0)
    # connections: the whole header block within header_timeout (from the first byte, or from the
    # connection's opening), the body within body_timeout of the headers, idle keep-alive
    # connections closed after keep_alive_timeout, at most max_connections open at once
    header_timeout_seconds: float = Field(10, gt=0)
    body_timeout_seconds: float = Field(30, gt=0)
    keep_alive_timeout_seconds: float = Field(5, gt=0)
    max_connections: int = Field(2048, gt=0)
    cors_origins: list[str] = ["*"]
    # how browsers and SDKs reach the relay (https://relay.example.com): the CDN settings point
    # analytics.js here; None: the scheme and Host of each settings request
    public_url: str | None = Field(None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    tls_cert: str | None = None  # PEM certificate (chain); with tls_key the relay serves HTTPS
    tls_key: str | None = None  # PEM private key
    # proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's forwarded_allow_ips);
    # None: uvicorn's default, $FORWARDED_ALLOW_IPS or 127.0.0.1 and ::1
    trusted_proxies: list[str] | None = None
    # embedded store: map in this many processes, deliver in one more (0: all in this process)
    workers: int = Field(0, ge=0, le=64)
    # embedded store: answer ingest in this many processes of their own, on the same port
    # (SO_REUSEPORT); the main process serves the rest through them (0: it serves everything)
    ingest_processes: int = Field(0, ge=0, le=64)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class IngestConfig(_Model):
    """What ingest does with what it accepts (the HTTP limits are under ``server:``)."""

    # A message whose (source, messageId) was accepted within this window is acknowledged and
    # dropped (SDKs resend a batch after a timeout). Seconds, or "90s", "30m", "24h", "7d"; 0: off.
    dedupe_window: float = Field(86400, ge=0)

    @field_validator("dedupe_window", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        if isinstance(v, str):
            text = v.strip().lower()
            if text and text[-1] in _UNITS:
                try:
                    return float(text[:-1]) * _UNITS[text[-1]]
                except ValueError:
                    pass
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"not a duration: {v!r} (seconds, or like 90s, 30m, 24h, 7d)") from None
        return v


class ConsoleConfig(_Model):
    """The web console at ``/console``: off until an admin token is set (here, usually as
    ``${AMPRELAY_ADMIN_TOKEN}``, or in the environment variable AMPRELAY_ADMIN_TOKEN itself)."""

    admin_token: SecretStr | None = None
    allow_remote: bool = False  # serve it to clients other than localhost (behind TLS, please)
    session_hours: float = Field(12, gt=0)  # a login lasts this long
    live_events: int = Field(200, ge=10, le=5000)  # how many recent events Live events keeps


class DeliveryConfig(_Model):
    amplitude_url: str | None = None  # base URL override (local Amplitude, a proxy)
    max_age_seconds: float = Field(defaults.MAX_AGE_SECONDS, gt=0)
    linger_ms: float = Field(defaults.LINGER_MS, ge=0)
    # while rounds are in flight, a round short of a full lease waits up to this long (at most
    # linger_ms) for one to finish and leases again: the units it unblocks join this round
    batch_wait_ms: float = Field(defaults.BATCH_WAIT_MS, ge=0)
    concurrency: int = Field(defaults.CONCURRENCY, ge=1, le=64)
    timeout_seconds: float = Field(defaults.TIMEOUT_SECONDS, gt=0)
    # Visible failures: a destination whose requests have failed (5xx, timeouts, unreachable, an
    # invalid API key) for this long logs a warning, repeated at most every failure_repeat_seconds.
    failure_warning_seconds: float = Field(defaults.FAILURE_WARNING_SECONDS, ge=0)
    failure_repeat_seconds: float = Field(defaults.FAILURE_REPEAT_SECONDS, gt=0)
    # /ready answers 503 while the oldest undelivered unit is older than this (0: never).
    ready_max_undelivered_age_seconds: float = Field(300, ge=0)


class LoggingConfig(_Model):
    """Logs on stderr; ``serve --log-format/--log-level/--access-log`` override these."""

    format: Literal["json", "text"] = "json"
    level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False  # one line per HTTP request (method, path, status, bytes, duration, source)


class Config(_Model):
    data_dir: str = "./data"
    sources: list[SourceConfig] = []
    destinations: list[DestinationConfig] = []
    queue: QueueConfig = QueueConfig()
    server: ServerConfig = ServerConfig()
    ingest: IngestConfig = IngestConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    console: ConsoleConfig = ConsoleConfig()
    logging: LoggingConfig = LoggingConfig()
