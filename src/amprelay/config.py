"""The config file (``amprelay.yaml``): sources with write keys, Amplitude destination
instances with their subscriptions, the queue, the server and delivery.

Loaded with :func:`load_config`, which validates everything up front and reports each
problem with the file, the line and what is wrong (:class:`ConfigError`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from amprelay import defaults
from amprelay.errors import AmprelayError
from amprelay.yamlpos import line_of, load_with_lines

ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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


@dataclass
class ConfigProblem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        at = f" ({self.path})" if self.path else ""
        return f"{where}{at}: {self.message}"


class ConfigError(AmprelayError):
    def __init__(self, problems: list[ConfigProblem]):
        self.problems = sorted(problems, key=lambda p: p.line or 0)  # in file order
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class LoadedConfig:
    config: Config
    file: str
    warnings: list[str] = field(default_factory=list)


def _expand_env(value: Any, path: tuple, env: dict[str, str], missing: list[tuple[tuple, str]],
                keep: Callable[[tuple], bool]) -> Any:
    """``${NAME}`` / ``${NAME:-default}`` replaced from ``env``. A variable that is not set is
    recorded in ``missing``, unless ``keep(path)``: then the reference stays as written."""
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            if keep(path):
                return m.group(0)
            missing.append((path, name))
            return ""

        return ENV_PATTERN.sub(repl, value)
    if isinstance(value, dict):
        return {k: _expand_env(v, path + (k,), env, missing, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, path + (i,), env, missing, keep) for i, v in enumerate(value)]
    return value


# The sections the store tools (`amprelay dlq`, `replay --dry-run`) read; everything else (write
# keys, Amplitude keys, the admin token) may stay an unresolved ${...} reference for them.
STORAGE_SECTIONS = ("data_dir", "queue")


def _missing_env_problems(missing: list[tuple[tuple, str]], file: str, lines: dict) -> list[ConfigProblem]:
    """One problem per variable, at the first line that uses it (the others named)."""
    by_name: dict[str, list[tuple]] = {}
    for path, name in missing:
        by_name.setdefault(name, []).append(path)
    problems = []
    for name, paths in by_name.items():
        if file.startswith("<"):  # config_from_env: there is no file to point at
            problems.append(ConfigProblem(file, None, "", f"environment variable {name} is not set"))
            continue
        used = sorted({line_of(lines, p) or 0 for p in paths[1:]} - {line_of(lines, paths[0]) or 0})
        also = f" (also used at line{'s' if len(used) > 1 else ''} {', '.join(map(str, used))})" if used else ""
        problems.append(ConfigProblem(file, line_of(lines, paths[0]), _dotted(paths[0]),
                                      f"environment variable {name} is not set{also}"))
    return problems


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_config(text: str, file: str = "<config>", env: dict[str, str] | None = None, *,
                 secrets: bool = True) -> LoadedConfig:
    """Parse and validate config text. Raises :class:`ConfigError` listing every problem.

    ``secrets=False`` is for tools that only open the store: an environment variable that is
    not set is then an error only in :data:`STORAGE_SECTIONS`; elsewhere its ``${NAME}``
    reference stays in the value and empty secrets are not reported."""
    env = dict(os.environ) if env is None else env
    try:
        raw, lines = load_with_lines(text)
    except Exception as exc:  # yaml.YAMLError carries its own position
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = "; ".join(x for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x)
        where = f" (column {mark.column + 1})" if mark is not None else ""
        raise ConfigError([ConfigProblem(file, line, "", f"not valid YAML: {what or exc}{where}")]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([ConfigProblem(file, 1, "", "the config must be a mapping of sections")])

    missing: list[tuple[tuple, str]] = []
    expanded = _expand_env(raw, (), env, missing,
                           (lambda p: False) if secrets else (lambda p: not p or p[0] not in STORAGE_SECTIONS))
    problems = _missing_env_problems(missing, file, lines)
    unset = {p for p, _ in missing}
    try:
        config = Config.model_validate(expanded)
    except ValidationError as exc:
        for err in exc.errors():
            p = tuple(err["loc"])
            problems.append(ConfigProblem(file, line_of(lines, p), _dotted(p), _pydantic_message(err)))
        raise ConfigError(problems) from None

    warnings: list[str] = []
    problems.extend(_check_semantics(config, file, lines, warnings, unset, secrets))
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(config=config, file=file, warnings=warnings)


def _pydantic_message(err: Any) -> str:
    """pydantic's message, with the known keys and a suggestion for an unknown key."""
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        from amprelay.lint import did_you_mean

        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model is not None else []
        where = f"in {_dotted(loc[:-1])}" if loc[:-1] else "at the top level"
        return (f"unknown key {loc[-1]!r} {where}{did_you_mean(loc[-1], known)}"
                + (f"; the keys are {', '.join(known)}" if known else ""))
    return err["msg"]


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The config model a path inside the config is validated by (list indexes skipped)."""
    import typing

    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *typing.get_args(annotation)]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:  # list[SubscriptionConfig] and the like
            inner = [a for c in candidates for a in typing.get_args(c)]
            model = next((c for c in inner if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def load_config(path: str | os.PathLike[str], env: dict[str, str] | None = None, *,
                secrets: bool = True) -> LoadedConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(p), None, "", f"cannot read the config file: {exc.strerror}")]) from None
    return parse_config(text, str(p), env, secrets=secrets)


# What `amprelay serve` needs in the environment when it has no config file.
ENV_CONFIG_VARIABLES = ("AMPRELAY_WRITE_KEY", "AMPLITUDE_API_KEY", "AMPLITUDE_SECRET_KEY")


def config_from_env(env: dict[str, str] | None = None, *, secrets: bool = True) -> LoadedConfig:
    """The config `amprelay serve` uses without a file: one source whose write key is
    AMPRELAY_WRITE_KEY, one destination from AMPLITUDE_API_KEY / AMPLITUDE_SECRET_KEY /
    AMPLITUDE_REGION with the page's presets."""
    env = dict(os.environ) if env is None else env
    unset = [name for name in ENV_CONFIG_VARIABLES if secrets and not env.get(name)]
    if unset:
        raise ConfigError([ConfigProblem("<environment>", None, "", (
            f"no config file, and {', '.join(unset)} {'is' if len(unset) == 1 else 'are'} not set in the "
            "environment (set them, or give --config FILE)"))])
    text = """
sources:
  - name: default
    write_key: ${AMPRELAY_WRITE_KEY}
destinations:
  - name: amplitude
    settings:
      apiKey: ${AMPLITUDE_API_KEY}
      secretKey: ${AMPLITUDE_SECRET_KEY}
      endpoint: ${AMPLITUDE_REGION:-north_america}
    presets: true
"""
    loaded = parse_config(text, "<environment>", env, secrets=secrets)
    if env.get("AMPRELAY_DATA_DIR"):
        loaded.config.data_dir = env["AMPRELAY_DATA_DIR"]
    if env.get("AMPRELAY_AMPLITUDE_URL"):
        loaded.config.delivery.amplitude_url = env["AMPRELAY_AMPLITUDE_URL"]
    return loaded


def config_secrets(config: Config) -> list[str]:
    """Every secret the config holds (write keys, destinations' API and secret keys, the admin
    token), for :func:`amprelay.masking.register_secrets`."""
    out = [s.write_key.get_secret_value() for s in config.sources]
    for dest in config.destinations:
        out.extend(v for k, v in dest.settings.items() if k in ("apiKey", "secretKey") and isinstance(v, str))
    if config.console.admin_token is not None:
        out.append(config.console.admin_token.get_secret_value())
    return out


def resolved_mapping(sub: SubscriptionConfig) -> dict[str, Any] | None:
    """The complete mapping of a subscription (`defaults: true` merged with the overrides)."""
    from amprelay.destination import ACTIONS
    from amprelay.fields import default_mapping

    if sub.mapping is None:
        return None
    if sub.mapping.get("defaults") is True:
        base = dict(default_mapping(ACTIONS[sub.action].fields))
        base.update({k: v for k, v in sub.mapping.items() if k != "defaults"})
        return base
    return sub.mapping


def all_subscriptions(dest: DestinationConfig) -> list[SubscriptionConfig]:
    """The destination's subscriptions, with the page's presets first when `presets: true`."""
    from amprelay.destination import PRESETS

    subs: list[SubscriptionConfig] = []
    if dest.presets:
        for preset in PRESETS:
            subs.append(
                SubscriptionConfig(name=preset.name, trigger=preset.subscribe, action=preset.action, mapping=preset.mapping)
            )
    subs.extend(dest.subscriptions)
    return subs


def tls_problems(cert: str | None, key: str | None) -> list[tuple[str, str]]:
    """What is wrong with a TLS certificate/key pair, as (setting, message); [] when fine or unset."""
    import ssl

    if cert is None and key is None:
        return []
    if cert is None or key is None:
        missing = "tls_cert" if cert is None else "tls_key"
        return [(missing, "tls_cert and tls_key go together: set both to serve HTTPS")]
    for name, path in (("tls_cert", cert), ("tls_key", key)):
        if not os.access(path, os.R_OK):
            return [(name, f"cannot read {path}")]
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as exc:
        return [("tls_cert", f"not a usable PEM certificate and private key pair ({exc})")]
    return []


def _check_semantics(config: Config, file: str, lines: dict, warnings: list[str], unset: AbstractSet[tuple[Any, ...]] = frozenset(),
                     secrets: bool = True) -> list[ConfigProblem]:
    from amprelay.destination import ACTIONS, MAX_SUBSCRIPTIONS
    from amprelay.destination.settings import SETTINGS_FIELDS
    from amprelay.lint import did_you_mean, mapping_problems, trigger_warnings
    from amprelay.mapping import MappingValidationError, validate_mapping
    from amprelay.triggers import compile_trigger

    problems: list[ConfigProblem] = []

    def add(path: tuple, message: str) -> None:
        if path in unset:  # already reported: the environment variable it names is not set
            return
        problems.append(ConfigProblem(file, line_of(lines, path), _dotted(path), message))

    names = [s.name for s in config.sources]
    for i, name in enumerate(names):
        if names.index(name) != i:
            add(("sources", i, "name"), f"duplicate source name {name!r}")
    keys = [s.write_key.get_secret_value() for s in config.sources]
    for i, key in enumerate(keys):
        if not key:
            if secrets:
                add(("sources", i, "write_key"), "the write key is empty")
        elif keys.index(key) != i:
            add(("sources", i, "write_key"), "two sources share one write key")

    problems.extend(ConfigProblem(file, line_of(lines, ("server", key)), f"server.{key}", message)
                    for key, message in tls_problems(config.server.tls_cert, config.server.tls_key))

    dest_names = [d.name for d in config.destinations]
    for di, dest in enumerate(config.destinations):
        base = ("destinations", di)
        if dest_names.index(dest.name) != di:
            add(base + ("name",), f"duplicate destination name {dest.name!r}")
        for key in dest.settings:
            if key not in SETTINGS_FIELDS:
                add(base + ("settings", key), f"unknown setting {key!r}{did_you_mean(key, SETTINGS_FIELDS)}; the "
                    f"settings are {', '.join(SETTINGS_FIELDS)}")
        for key in ("apiKey", "secretKey"):
            if not dest.settings.get(key) and secrets:
                add(base + ("settings", key), f"missing secret: settings.{key} is required")
        region = dest.settings.get("endpoint", "north_america")
        if region not in ("north_america", "europe"):
            add(base + ("settings", "endpoint"), f"endpoint must be 'north_america' or 'europe', not {region!r}")
        for src in dest.sources or []:
            if src not in names:
                add(base + ("sources",), f"unknown source {src!r}")
        subs = all_subscriptions(dest)
        if len(subs) > MAX_SUBSCRIPTIONS:
            add(base + ("subscriptions",),
                f"{len(subs)} subscriptions (presets included); a destination accepts at most {MAX_SUBSCRIPTIONS}")
        for si, sub in enumerate(dest.subscriptions):
            spath = base + ("subscriptions", si)
            if sub.action not in ACTIONS:
                add(spath + ("action",), f"unknown action {sub.action!r}; one of: {', '.join(sorted(ACTIONS))}")
                continue
            trig = compile_trigger(sub.trigger)
            if trig.error is not None:
                add(spath + ("trigger",), f"invalid trigger: {getattr(trig.error, 'message', trig.error)}")
            for w in trigger_warnings(sub.trigger):
                where = line_of(lines, spath + ("trigger",))
                warnings.append(f"{file}:{where} ({_dotted(spath + ('trigger',))}): {w}")
            for key, message in mapping_problems(sub.action, sub.mapping):
                add(spath + ("mapping", key), message)
            try:
                mapping = resolved_mapping(sub)
                if mapping is not None:
                    validate_mapping(mapping)
            except MappingValidationError as exc:
                add(spath + ("mapping",), f"invalid mapping: {exc}")
    return problems
