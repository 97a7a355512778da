"""Reading the config: YAML with line numbers, ``${NAME}`` / ``${NAME:-default}`` from the
environment, validation by the models, then the checks across sections (:mod:`amprelay.config.checks`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from amprelay.config.checks import check_semantics
from amprelay.config.models import Config
from amprelay.config.problems import ConfigError, ConfigProblem, LoadedConfig, dotted
from amprelay.yamlpos import line_of, load_with_lines

ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
        problems.append(ConfigProblem(file, line_of(lines, paths[0]), dotted(paths[0]),
                                      f"environment variable {name} is not set{also}"))
    return problems


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
            problems.append(ConfigProblem(file, line_of(lines, p), dotted(p), _pydantic_message(err)))
        raise ConfigError(problems) from None

    warnings: list[str] = []
    problems.extend(check_semantics(config, file, lines, warnings, unset, secrets))
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
        where = f"in {dotted(loc[:-1])}" if loc[:-1] else "at the top level"
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
