"""Shared by the Amplitude subcommands (preview, check-auth, delete-user): loading settings from
``--settings FILE``, a destination of ``--config FILE``, or the environment."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from amprelay.destination.js import js_json_loads
from amprelay.destination.settings import Settings
from amprelay.errors import AmprelayError
from amprelay.masking import register_secrets


class SettingsFileError(AmprelayError, ValueError):
    pass


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--settings",
        metavar="FILE",
        help="JSON file with apiKey, secretKey and endpoint (north_america or europe); default: the "
        "environment variables AMPLITUDE_API_KEY, AMPLITUDE_SECRET_KEY, AMPLITUDE_REGION",
    )


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", metavar="FILE", help="take the settings (and delivery.amplitude_url) from "
                   "a destination of this config file; only that destination's secrets need to be set")
    p.add_argument("--destination", "-d", metavar="NAME", help="with --config: which destination (default: the "
                   "only one)")


def settings_for(args: argparse.Namespace) -> tuple[Settings, str | None]:
    """The settings and the Amplitude base URL: ``--settings``, else ``--config`` [``--destination``],
    else the environment; ``--amplitude-url`` wins over the config's. Raises
    :class:`SettingsFileError` for a mistake (one line)."""
    from amprelay.config import ENV_PATTERN, ConfigError, load_config

    if args.settings and args.config:
        raise SettingsFileError("give --settings or --config, not both")
    if not args.config:
        if args.destination:
            raise SettingsFileError("--destination needs --config")
        return load_settings(args.settings), args.amplitude_url
    try:
        cfg = load_config(args.config, secrets=False).config
    except ConfigError as exc:
        raise SettingsFileError("; ".join(str(p) for p in exc.problems)) from None
    names = [d.name for d in cfg.destinations]
    if args.destination is None and len(names) != 1:
        raise SettingsFileError(f"{args.config} has {len(names)} destinations: name one with --destination "
                                f"({', '.join(names) or 'none'})")
    dest = next((d for d in cfg.destinations if args.destination in (None, d.name)), None)
    if dest is None:
        raise SettingsFileError(f"{args.config} has no destination {args.destination!r}; it has: {', '.join(names)}")
    for key in ("apiKey", "secretKey"):
        unresolved = ENV_PATTERN.search(str(dest.settings.get(key, "")))
        if unresolved:
            raise SettingsFileError(f"{args.config}: destination {dest.name}: settings.{key} needs the environment "
                                    f"variable {unresolved.group(1)}, which is not set")
    settings = Settings.from_dict(dest.settings)
    register_secrets([settings.api_key, settings.secret_key])  # masked in everything printed from now on
    return settings, args.amplitude_url or cfg.delivery.amplitude_url


def read_json_file(path: str) -> Any:
    try:
        data = Path(path).read_bytes() if path != "-" else _stdin_bytes()
    except OSError as exc:
        raise SettingsFileError(f"{path}: {exc.strerror or exc}") from exc
    try:
        return js_json_loads(data)
    except ValueError as exc:
        raise SettingsFileError(f"{path}: not valid JSON ({exc})") from exc


def _stdin_bytes() -> bytes:
    import sys

    return sys.stdin.buffer.read()


def settings_from_mapping(raw: dict[str, Any]) -> Settings:
    """Accepts the reference's keys (apiKey, secretKey, endpoint) and snake_case aliases
    (api_key, secret_key, region)."""
    normalized = dict(raw)
    for alias, key in (("api_key", "apiKey"), ("secret_key", "secretKey"), ("region", "endpoint")):
        if alias in normalized and key not in normalized:
            normalized[key] = normalized.pop(alias)
    return Settings.from_dict(normalized)


def load_settings(path: str | None, environ: dict[str, str] | None = None) -> Settings:
    """From ``path`` (a JSON object) or, without one, from the environment."""
    if path:
        raw = read_json_file(path)
        if not isinstance(raw, dict):
            raise SettingsFileError(f"{path}: expected a JSON object with apiKey, secretKey, endpoint")
        settings = settings_from_mapping(raw)
    else:
        settings = Settings.from_env(os.environ if environ is None else environ)
    register_secrets([settings.api_key, settings.secret_key])  # masked in everything printed from now on
    return settings


