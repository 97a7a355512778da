"""Logs on stderr, one line per record: JSON objects (the default) or plain text
(``--log-format text``, ``logging.format: text``). Secrets never reach a log line: the config
keeps them as SecretStr and Settings masks them in its repr.

A record's structured fields travel in ``extra={"fields": {...}}``: JSON lines carry them as
keys, text lines as ``key=value`` after the message. Every record passes
:class:`amprelay.masking.MaskingFilter` (a filter on the handler) on its way out."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

from amprelay.masking import MaskingFilter

LOG_FORMATS: tuple[str, ...] = ("json", "text")


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["exc"] = record.exc_text or self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """``2026-01-01T12:00:00.000Z INFO amprelay.reload: config reloaded generation=2 file=a.yaml``"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict) and extra:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in extra.items())
        if record.exc_info:
            line += "\n" + (record.exc_text or self.formatException(record.exc_info))
        return line


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        return value if value and not any(c.isspace() or c in '"=' for c in value) else orjson.dumps(value).decode()
    return orjson.dumps(value, default=str).decode()


def formatter_for(fmt: str) -> logging.Formatter:
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; one of: {', '.join(LOG_FORMATS)}")
    return JSONFormatter() if fmt == "json" else TextFormatter()


def setup_logging(level: str = "info", json_logs: bool = True, fmt: str | None = None) -> None:
    """Log ``level`` and above to stderr as ``fmt`` ("json" or "text"; default: ``json_logs``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(fmt or ("json" if json_logs else "text")))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
