"""Reload without a restart: read the config again, compile it, swap it in (``Relay.swap``).

Triggered by SIGHUP, the console's "Reload the config" button and ``amprelay reload``. Sources
(write keys) and destinations (settings, subscriptions, mappings, presets, server sessions)
take effect for messages accepted after the reload; the other sections (server, queue,
delivery, console, logging, data_dir) are read at start only: a change there is reported and waits for
a restart. An invalid config is refused with its errors and the running one keeps going.

The running relay writes its pid to ``<data_dir>/amprelay.pid`` and the outcome of every
reload to ``<data_dir>/reload-status.json``, which ``amprelay reload`` waits for and prints.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from amprelay.config import ConfigError, LoadedConfig
from amprelay.relay.runtime import Relay
from amprelay.store.paths import write_private

log = logging.getLogger("amprelay.reload")

PID_FILE = "amprelay.pid"
STATUS_FILE = "reload-status.json"
RELOADABLE = ("sources", "destinations")
RESTART_ONLY = ("data_dir", "server", "queue", "delivery", "console", "logging")


@dataclass
class ReloadResult:
    ok: bool
    generation: int  # the running config's generation after this attempt
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    restart_needed: list[str] = field(default_factory=list)  # changed sections a reload can't apply
    at: float = field(default_factory=time.time)
    pid: int = field(default_factory=os.getpid)
    seq: int = 0  # counts attempts (successful or not) since the relay started

    def summary(self) -> str:
        if not self.ok:
            return "the new config is invalid; the running one is kept"
        text = f"reloaded: config generation {self.generation}"
        if self.restart_needed:
            text += f"; changed, applied after a restart only: {', '.join(self.restart_needed)}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Reloader:
    """Serialises reloads of one relay. ``load`` reads the config the way ``serve`` did (the
    same file, environment and command-line overrides); ``on_applied`` is told the new config
    (the console takes its warnings)."""

    def __init__(self, relay: Relay, load: Callable[[], LoadedConfig], data_dir: str | Path,
                 on_applied: Callable[[LoadedConfig], None] | None = None):
        self.relay = relay
        self.load = load
        self.data_dir = Path(data_dir)
        self.on_applied = on_applied
        self._lock = threading.Lock()
        self._seq = 0
        self.last: ReloadResult | None = None

    def reload(self) -> ReloadResult:
        with self._lock:
            self._seq += 1
            result = self._reload()
            result.seq = self._seq
            self.last = result
            self._write_status(result)
        return result

    def _reload(self) -> ReloadResult:
        running = self.relay.config
        try:
            loaded = self.load()
        except ConfigError as exc:
            errors = [str(p) for p in exc.problems]
            log.error("reload refused: the new config is invalid; the running one is kept",
                      extra={"fields": {"errors": errors}})
            return ReloadResult(False, self.relay.generation, errors=errors)
        except Exception as exc:  # anything else reading it: refused the same way, never a dead reload
            log.exception("reload refused: the config could not be read; the running one is kept")
            return ReloadResult(False, self.relay.generation, errors=[f"{type(exc).__name__}: {exc}"])
        new = loaded.config
        restart = [k for k in RESTART_ONLY if getattr(new, k) != getattr(running, k)]
        merged = running.model_copy(update={k: getattr(new, k) for k in RELOADABLE})
        try:
            compiled = self.relay.swap(merged)
        except Exception as exc:  # validation passed but compiling failed: keep the running config
            log.exception("reload refused: the new config does not compile")
            return ReloadResult(False, self.relay.generation, errors=[f"{type(exc).__name__}: {exc}"])
        if self.on_applied is not None:
            self.on_applied(loaded)
        result = ReloadResult(True, compiled.generation, warnings=list(loaded.warnings), restart_needed=restart)
        log.info("config reloaded", extra={"fields": {
            "generation": compiled.generation, "file": loaded.file,
            "subscriptions": sum(len(d.subscriptions) for d in compiled.destinations),
            "restart_needed": restart}})
        for w in loaded.warnings:
            log.warning("config warning: %s", w)
        if restart:
            log.warning("changed in the config but applied after a restart only: %s", ", ".join(restart))
        return result

    def _write_status(self, result: ReloadResult) -> None:
        try:
            write_private(self.data_dir / STATUS_FILE, orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2))
        except OSError as exc:
            log.warning("could not write %s: %s", STATUS_FILE, exc)


def write_pid_file(data_dir: str | Path) -> Path:
    path = Path(data_dir) / PID_FILE
    write_private(path, f"{os.getpid()}\n".encode())
    return path


def remove_pid_file(path: Path) -> None:
    """Remove ``path`` if it still names this process (a newer relay may have replaced it)."""
    try:
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass
