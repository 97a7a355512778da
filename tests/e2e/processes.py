"""Helpers for tests that run `amprelay serve` as a real process."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.relay import WRITE_KEY


def write_serve_config(path: Path, data_dir: Path, port: int, amplitude_url: str, api_key: str,
                       extra: str = "", destination_extra: str = "") -> Path:
    """A config with one source (WRITE_KEY) and one presets destination; ``extra``: more top-level
    YAML (one line, e.g. ``queue: {...}``); ``destination_extra``: more destination keys (one line)."""
    path.write_text(f"""
data_dir: {data_dir}
sources: [{{name: web, write_key: {WRITE_KEY}}}]
destinations:
  - name: amplitude
    settings: {{apiKey: {api_key}, secretKey: s}}
    presets: true
    {destination_extra}
{extra}
server: {{port: {port}}}
delivery: {{amplitude_url: "{amplitude_url}", linger_ms: 5}}
""")
    return path
