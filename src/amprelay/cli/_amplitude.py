"""Shared by the Amplitude subcommands (preview, check-auth, delete-user): loading settings from
``--settings FILE`` or the environment."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from amprelay.destination.js import js_json_loads
from amprelay.destination.settings import Settings
from amprelay.errors import AmprelayError


class SettingsFileError(AmprelayError, ValueError):
    pass


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--settings",
        metavar="FILE",
        help="JSON file with apiKey, secretKey and endpoint (north_america or europe); default: the "
        "environment variables AMPLITUDE_API_KEY, AMPLITUDE_SECRET_KEY, AMPLITUDE_REGION",
    )


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
        return settings_from_mapping(raw)
    return Settings.from_env(os.environ if environ is None else environ)


