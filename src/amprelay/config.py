"""The config file (``amprelay.yaml``): sources with write keys, Amplitude destination
instances with their subscriptions, the queue, the server and delivery.

Loaded with :func:`load_config`, which validates everything up front and reports each
problem with the file, the line and what is wrong (:class:`ConfigError`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from amprelay.yamlpos import line_of, load_with_lines

ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Model):
    name: str
    write_key: SecretStr


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
    bucket_lease_seconds: float = Field(10, gt=0)  # postgres: how long a dead relay keeps its partitions
    max_bytes: int = Field(10 * 1024**3, gt=0)  # refuse ingest (503) above this
    min_free_disk_bytes: int = Field(512 * 1024**2, ge=0)


class ServerConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8088, ge=0, le=65535)
    max_message_bytes: int = Field(32 * 1024, gt=0)
    max_batch_bytes: int = Field(500 * 1024, gt=0)
    cors_origins: list[str] = ["*"]
    # embedded store: map in this many processes, deliver in one more (0: all in this process)
    workers: int = Field(0, ge=0, le=64)


class ConsoleConfig(_Model):
    """The web console at ``/console``: off until an admin token is set (here, usually as
    ``${AMPRELAY_ADMIN_TOKEN}``, or in the environment variable AMPRELAY_ADMIN_TOKEN itself)."""

    admin_token: SecretStr | None = None
    allow_remote: bool = False  # serve it to clients other than localhost (behind TLS, please)
    session_hours: float = Field(12, gt=0)  # a login lasts this long
    live_events: int = Field(200, ge=10, le=5000)  # how many recent events Live events keeps


class DeliveryConfig(_Model):
    amplitude_url: str | None = None  # base URL override (local Amplitude, a proxy)
    max_age_seconds: float = Field(24 * 3600, gt=0)
    linger_ms: float = Field(50, ge=0)
    concurrency: int = Field(4, ge=1, le=64)
    timeout_seconds: float = Field(30, gt=0)


class Config(_Model):
    data_dir: str = "./data"
    sources: list[SourceConfig] = []
    destinations: list[DestinationConfig] = []
    queue: QueueConfig = QueueConfig()
    server: ServerConfig = ServerConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    console: ConsoleConfig = ConsoleConfig()


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


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class LoadedConfig:
    config: Config
    file: str
    warnings: list[str] = field(default_factory=list)


def _expand_env(value: Any, path: tuple, env: dict[str, str], missing: list[tuple[tuple, str]]) -> Any:
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            missing.append((path, name))
            return ""

        return ENV_PATTERN.sub(repl, value)
    if isinstance(value, dict):
        return {k: _expand_env(v, path + (k,), env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, path + (i,), env, missing) for i, v in enumerate(value)]
    return value


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_config(text: str, file: str = "<config>", env: dict[str, str] | None = None) -> LoadedConfig:
    """Parse and validate config text. Raises :class:`ConfigError` listing every problem."""
    env = dict(os.environ) if env is None else env
    try:
        raw, lines = load_with_lines(text)
    except Exception as exc:  # yaml.YAMLError carries its own position
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigProblem(file, line, "", f"not valid YAML: {exc}")]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([ConfigProblem(file, 1, "", "the config must be a mapping of sections")])

    missing: list[tuple[tuple, str]] = []
    expanded = _expand_env(raw, (), env, missing)
    problems = [
        ConfigProblem(file, line_of(lines, p), _dotted(p), f"environment variable {name} is not set")
        for p, name in missing
    ]
    try:
        config = Config.model_validate(expanded)
    except ValidationError as exc:
        for err in exc.errors():
            p = tuple(err["loc"])
            problems.append(ConfigProblem(file, line_of(lines, p), _dotted(p), err["msg"]))
        raise ConfigError(problems) from None

    warnings: list[str] = []
    problems.extend(_check_semantics(config, file, lines, warnings))
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(config=config, file=file, warnings=warnings)


def load_config(path: str | os.PathLike[str], env: dict[str, str] | None = None) -> LoadedConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(p), None, "", f"cannot read the config file: {exc.strerror}")]) from None
    return parse_config(text, str(p), env)


def config_from_env(env: dict[str, str] | None = None) -> LoadedConfig:
    """The config `amprelay serve` uses without a file: one source whose write key is
    AMPRELAY_WRITE_KEY, one destination from AMPLITUDE_API_KEY / AMPLITUDE_SECRET_KEY /
    AMPLITUDE_REGION with the page's presets."""
    env = dict(os.environ) if env is None else env
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
    loaded = parse_config(text, "<environment>", env)
    if env.get("AMPRELAY_DATA_DIR"):
        loaded.config.data_dir = env["AMPRELAY_DATA_DIR"]
    if env.get("AMPRELAY_AMPLITUDE_URL"):
        loaded.config.delivery.amplitude_url = env["AMPRELAY_AMPLITUDE_URL"]
    return loaded


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


def _check_semantics(config: Config, file: str, lines: dict, warnings: list[str]) -> list[ConfigProblem]:
    from amprelay.destination import ACTIONS, MAX_SUBSCRIPTIONS
    from amprelay.mapping import MappingValidationError, validate_mapping
    from amprelay.triggers import compile_trigger

    problems: list[ConfigProblem] = []

    def add(path: tuple, message: str) -> None:
        problems.append(ConfigProblem(file, line_of(lines, path), _dotted(path), message))

    names = [s.name for s in config.sources]
    for i, name in enumerate(names):
        if names.index(name) != i:
            add(("sources", i, "name"), f"duplicate source name {name!r}")
    keys = [s.write_key.get_secret_value() for s in config.sources]
    for i, key in enumerate(keys):
        if not key:
            add(("sources", i, "write_key"), "the write key is empty")
        elif keys.index(key) != i:
            add(("sources", i, "write_key"), "two sources share one write key")

    dest_names = [d.name for d in config.destinations]
    for di, dest in enumerate(config.destinations):
        base = ("destinations", di)
        if dest_names.index(dest.name) != di:
            add(base + ("name",), f"duplicate destination name {dest.name!r}")
        for key in ("apiKey", "secretKey"):
            if not dest.settings.get(key):
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
            for w in getattr(trig, "warnings", []) or []:
                where = line_of(lines, spath + ("trigger",))
                warnings.append(f"{file}:{where} ({_dotted(spath + ('trigger',))}): {w}")
            try:
                mapping = resolved_mapping(sub)
                if mapping is not None:
                    validate_mapping(mapping)
            except MappingValidationError as exc:
                add(spath + ("mapping",), f"invalid mapping: {exc}")
    return problems
