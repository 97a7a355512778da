"""The relay: compiled destinations and the durable queue behind ingest and replay.

``Relay.process`` turns messages into queue units (trigger -> mapping -> action -> units) and
stores them durably in one call; an action that fails for a message (a mapping or validation
error) sends that message's failure to the dead-letter store with its reason, never away.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from amprelay.config import (
    Config,
    DestinationConfig,
    SourceConfig,
    all_subscriptions,
    config_secrets,
    resolved_mapping,
)
from amprelay.delivery.metrics import Metrics
from amprelay.delivery.units import UnsupportedRequest, requests_to_units
from amprelay.destination import Settings
from amprelay.engine import ActionError, CompiledSubscription, Subscription, compile_subscription
from amprelay.errors import Unavailable
from amprelay.js.json import dumps, well_formed
from amprelay.masking import mask_text, register_secrets
from amprelay.queue.base import NewUnit, Queue, Route
from amprelay.relay.inbox import SQLiteInbox
from amprelay.relay.readiness import (
    AdmissionCheck,
    Readiness,
    ReadinessReport,
    StoreWriteCheck,
    UndeliveredAgeCheck,
)
from amprelay.relay.routing import destination_enabled
from amprelay.sessions import (
    PostgresSessionStore,
    SessionStore,
    SessionStoreUnavailable,
    apply_server_session,
)

log = logging.getLogger("amprelay.relay")

# Dead letters that never became an Amplitude request (an invalid message, a mapping error)
# are kept under a route of this method, so `amprelay dlq` lists them with the rest.
REJECTED_METHOD = "REJECTED"


@dataclass
class CompiledDestination:
    name: str
    settings: Settings
    subscriptions: list[CompiledSubscription]
    sources: frozenset[str] | None
    stable_insert_id: bool
    config: DestinationConfig


def compile_destination(dest: DestinationConfig) -> CompiledDestination:
    subs = []
    for sub in all_subscriptions(dest):
        subs.append(compile_subscription(
            Subscription(name=sub.name, trigger=sub.trigger, action_key=sub.action,
                         mapping=resolved_mapping(sub), enabled=sub.enabled)))
    return CompiledDestination(
        name=dest.name,
        settings=Settings.from_dict(dest.settings),
        subscriptions=subs,
        sources=frozenset(dest.sources) if dest.sources is not None else None,
        stable_insert_id=dest.stable_insert_id,
        config=dest,
    )


@dataclass(frozen=True)
class CompiledConfig:
    """One config's compiled form: what ingest, the inbox processor and the console read. A
    reload builds a new one and swaps it in whole (see :meth:`Relay.swap`)."""

    config: Config
    destinations: list[CompiledDestination]
    sources_by_key: dict[str, SourceConfig]
    generation: int = 1


def compile_config(config: Config, generation: int = 1) -> CompiledConfig:
    return CompiledConfig(config, [compile_destination(d) for d in config.destinations],
                          {s.write_key.get_secret_value(): s for s in config.sources}, generation)


def open_session_store(config: Config) -> SessionStore | PostgresSessionStore:
    """Server-side session state lives in the queue's store: the SQLite file, or PostgreSQL
    (shared by every relay on it)."""
    if config.queue.backend == "postgres":
        return PostgresSessionStore(config.queue.dsn or "")
    from amprelay.queue import sqlite_path

    path = Path(sqlite_path(config.queue, config.data_dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    return SessionStore(str(path))


def rejected_unit(destination: str, reason_kind: str, message: Any, message_id: str, now: float) -> NewUnit:
    """A dead-letter unit for something that never became a request."""
    route = Route(destination, REJECTED_METHOD, f"amprelay:{reason_kind}", "json", "message", True, ())
    partition = "rejected"
    if isinstance(message, dict):
        partition = str(message.get("userId") or message.get("anonymousId") or "rejected")
    return NewUnit(route, dumps(message, default=str), well_formed(partition), well_formed(message_id), now)


class RelayObserver(Protocol):
    """Told what became of each message (the console's activity record)."""

    def on_message(self, source: str, message: dict[str, Any], destination: str,
                   fired: list[tuple[str, str, int, str | None]], now: float) -> None:
        """``message`` reached ``destination``; ``fired`` lists each subscription that ran as
        (name, action, units queued, error or None); empty: filtered (no subscription matched,
        or its integrations object turned the destination off)."""

    def on_rejected(self, source: str, message: Any, reason: str, now: float) -> None:
        """An invalid message went to the dead-letter store at ingest."""


def _inbox_rows(messages: Sequence[dict[str, Any]], rejected: Iterable[dict[str, Any]]) -> tuple[
        bytes | None, list[tuple[str, bytes]]]:
    """An inbox append's arguments: the accepted messages as one JSON array, and each rejected
    record (ingest sends one per request: counts and samples) with its reason."""
    return (dumps(messages) if messages else None,
            [(_rejected_reason(r), dumps(r.get("message"), default=str)) for r in rejected])


def _rejected_reason(r: dict[str, Any]) -> str:
    index = r.get("index")
    reason = str(r.get("reason")) if index is None else f"invalid message at index {index}: {r.get('reason')}"
    return mask_text(well_formed(reason))  # reasons may quote the message


@dataclass
class ProcessResult:
    units: list[NewUnit] = field(default_factory=list)
    dead: list[tuple[NewUnit, str]] = field(default_factory=list)
    matched: int = 0
    per_subscription: dict[str, int] = field(default_factory=dict)  # "destination/subscription" -> runs
    errors: dict[str, int] = field(default_factory=dict)  # reason -> count


class Relay:
    """Everything between the HTTP layer and the queue. Thread-safe: ``process`` and
    ``accept_sync`` may run in several threads (the queue serialises writes)."""

    def __init__(self, config: Config, queue: Queue, metrics: Metrics | None = None,
                 data_dir: str | Path | None = None, on_enqueued: Callable[[], None] | None = None,
                 inbox: SQLiteInbox | None = None, observer: RelayObserver | None = None):
        self.queue = queue
        self.metrics = metrics or Metrics()
        self._active = compile_config(config)
        # Older configs still owed inbox rows: (last inbox id accepted under it, its compiled form).
        self._held: list[tuple[int, CompiledConfig]] = []
        self._swap_lock = threading.Lock()
        self._data_dir = Path(data_dir or config.data_dir)
        self._admission_lock = threading.Lock()
        self._admission_checked = 0.0
        self._admission_reason: str | None = None
        self.last_error: str | None = None
        self._on_enqueued = on_enqueued
        self.inbox = inbox
        self.pressure = None  # IngestPressure when an inbox processor gives way to ingest
        self.observer = observer
        self.readiness = Readiness([
            AdmissionCheck(self.admission),
            StoreWriteCheck([queue, inbox]),
            UndeliveredAgeCheck(lambda: queue.stats(), config.delivery.ready_max_undelivered_age_seconds),
        ])
        register_secrets(config_secrets(config))
        self.sessions: SessionStore | PostgresSessionStore | None = None
        if any(d.config.server_sessions.enabled for d in self.destinations):
            self.sessions = open_session_store(config)

    @property
    def config(self) -> Config:
        return self._active.config

    @property
    def destinations(self) -> list[CompiledDestination]:
        return self._active.destinations

    @property
    def generation(self) -> int:
        return self._active.generation

    # --- reload ---------------------------------------------------------------------------
    def swap(self, config: Config) -> CompiledConfig:
        """Make ``config`` the running one, for messages accepted from now on. It is compiled
        first: if that raises, the running config stays. Messages already in the inbox keep
        the config they were accepted under (each is mapped by exactly one config); with no
        inbox (PostgreSQL) each request is transformed with the config it started with."""
        new = compile_config(config, self._active.generation + 1)
        if self.sessions is None and any(d.config.server_sessions.enabled for d in new.destinations):
            self.sessions = open_session_store(config)
        with self._swap_lock:
            if self.inbox is not None:
                self._held.append((self.inbox.last_id(), self._active))
            self._active = new
        return new

    def _inbox_configs(self, first_id: int) -> tuple[list[tuple[int, CompiledConfig]], CompiledConfig]:
        """The configs for inbox rows from ``first_id`` on (older rows are consumed: drop theirs)."""
        with self._swap_lock:
            self._held = [h for h in self._held if h[0] >= first_id]
            return list(self._held), self._active

    # --- sources --------------------------------------------------------------------------
    def source_for_key(self, write_key: str) -> SourceConfig | None:
        return self._active.sources_by_key.get(write_key)

    # --- transform ------------------------------------------------------------------------
    def transform(self, source_name: str, message: dict[str, Any], now_ms: int | None = None,
                  result: ProcessResult | None = None, compiled: CompiledConfig | None = None) -> ProcessResult:
        """Units for one message over every destination and subscription (pure but for metrics),
        with ``compiled`` (default: the running config)."""
        out = result if result is not None else ProcessResult()
        message_id = str(message.get("messageId") or "")
        created = time.time()
        original = message
        observer = self.observer
        for dest in (compiled or self._active).destinations:
            message = original
            if dest.sources is not None and source_name not in dest.sources:
                continue
            if not destination_enabled(message):
                self.metrics.filtered.labels(dest.name).inc()
                if observer is not None:
                    observer.on_message(source_name, message, dest.name, [], created)
                continue
            fired: list[tuple[str, str, int, str | None]] | None = [] if observer is not None else None
            sessions = dest.config.server_sessions
            if sessions.enabled and self.sessions is not None:
                message = apply_server_session(self.sessions, dest.name, message, int(sessions.gap_minutes * 60_000),
                                               int(created * 1000))
            matched = False
            for sub in dest.subscriptions:
                if not sub.matches(message):
                    continue
                matched = True
                out.matched += 1
                key = f"{dest.name}/{sub.name}"
                out.per_subscription[key] = out.per_subscription.get(key, 0) + 1
                try:
                    requests = sub.run(message, dest.settings, now_ms)
                    units = requests_to_units(dest.name, message_id, requests, subscription=sub.name,
                                              stable_insert_id=dest.stable_insert_id, created_at=created)
                except (ActionError, UnsupportedRequest) as exc:
                    self.metrics.mapping_errors.labels(dest.name, sub.action_key).inc()
                    reason = mask_text(well_formed(f"{sub.name} ({sub.action_key}): {exc.message}"))
                    out.errors[reason] = out.errors.get(reason, 0) + 1
                    out.dead.append((rejected_unit(dest.name, "mapping", message, message_id, created), reason))
                    if fired is not None:
                        fired.append((sub.name, sub.action_key, 0, exc.message))
                    continue
                self.metrics.mapped.labels(dest.name, sub.action_key).inc()
                out.units.extend(units)
                if fired is not None:
                    fired.append((sub.name, sub.action_key, len(units), None))
            if not matched:
                self.metrics.filtered.labels(dest.name).inc()
            if fired is not None:
                observer.on_message(source_name, message, dest.name, fired, created)
        return out

    # --- durable acceptance ---------------------------------------------------------------
    def accept_sync(self, source: SourceConfig | str, messages: Sequence[dict[str, Any]],
                    rejected: Iterable[dict[str, Any]] = ()) -> ProcessResult:
        """Transform ``messages`` and store every unit, plus ``rejected`` (each with ``reason``
        and ``message``), durably. Returns once they are on disk; raises :class:`Unavailable`."""
        reason = self.admission()
        if reason is not None:
            raise Unavailable(reason)
        source_name = source if isinstance(source, str) else source.name
        if self.inbox is not None:
            try:
                self.inbox.append(source_name, *_inbox_rows(messages, rejected))
            except Exception as exc:
                raise self._inbox_refused(exc) from exc
            self.metrics.received.labels(source_name).inc(len(messages))
            return ProcessResult()
        result = ProcessResult()
        now = time.time()
        compiled = self._active  # one request, one config
        try:
            for message in messages:
                self.transform(source_name, message, result=result, compiled=compiled)
        except SessionStoreUnavailable as exc:
            self.last_error = str(exc)
            log.error("%s", exc)
            raise Unavailable("the session store is unavailable; retry later", retry_after=5) from exc
        for r in rejected:
            msg = r.get("message")
            mid = str(msg.get("messageId") or "") if isinstance(msg, dict) else ""
            reason = _rejected_reason(r)
            result.dead.append((rejected_unit(f"source:{source_name}", "invalid_message", msg, mid, now), reason))
            if self.observer is not None:
                self.observer.on_rejected(source_name, msg, reason, now)
        self.store(result)
        self.metrics.received.labels(source_name).inc(len(messages))
        return result

    def process_inbox(self, rows: list[tuple[int, str, Any, str | None]]) -> ProcessResult:
        """Units for inbox rows ``(id, source, payload, reason)``: a list of messages, or (with a
        reason) one message rejected at ingest, which goes to the dead-letter store."""
        result = ProcessResult()
        now = time.time()
        held, active = self._inbox_configs(rows[0][0]) if rows else ([], self._active)
        for row_id, source_name, payload, reason in rows:
            if reason is not None:
                mid = str(payload.get("messageId") or "") if isinstance(payload, dict) else ""
                result.dead.append((rejected_unit(f"source:{source_name}", "invalid_message", payload, mid, now),
                                    reason))
                if self.observer is not None:
                    self.observer.on_rejected(source_name, payload, reason, now)
            else:
                compiled = next((c for last_id, c in held if row_id <= last_id), active)
                for message in payload:
                    self.transform(source_name, message, result=result, compiled=compiled)
        return result

    def store(self, result: ProcessResult, also: tuple[str, tuple] | None = None) -> None:
        if not result.units and not result.dead and also is None:
            return
        try:
            enqueue_with_dead = getattr(self.queue, "enqueue_with_dead", None)
            if also is not None:
                enqueue_with_dead(result.units, result.dead, also=[also])
            elif enqueue_with_dead is not None:
                enqueue_with_dead(result.units, result.dead)
            else:
                self.queue.enqueue(result.units)
        except Exception as exc:
            self.last_error = f"the queue refused the write: {exc}"
            log.error("queue write failed: %s", exc)
            raise Unavailable("the durable store is unavailable; retry later", retry_after=5) from exc
        for unit in result.units:
            self.metrics.enqueued.labels(unit.route.destination).inc()
        if result.units and self._on_enqueued is not None:
            self._on_enqueued()

    async def accept(self, source: SourceConfig, messages: list[dict[str, Any]],
                     rejected: list[dict[str, Any]]) -> None:
        from starlette.concurrency import run_in_threadpool

        if self.inbox is None:  # PostgreSQL: transform and store inline, in a worker thread
            await run_in_threadpool(self.accept_sync, source, messages, rejected)
            return
        # The inbox: the event loop awaits the group write (no worker thread per request).
        reason = self.admission()
        if reason is not None:
            raise Unavailable(reason)
        try:
            await self.inbox.append_async(source.name, *_inbox_rows(messages, rejected))
        except Exception as exc:
            raise self._inbox_refused(exc) from exc
        self.metrics.received.labels(source.name).inc(len(messages))

    def _inbox_refused(self, exc: BaseException) -> Unavailable:
        self.last_error = f"the inbox refused the write: {exc}"
        log.error("inbox write failed: %s", exc)
        return Unavailable("the durable store is unavailable; retry later", retry_after=5)

    def pending(self) -> int:
        """Messages not yet transformed plus units not yet delivered."""
        return (self.inbox.depth() if self.inbox is not None else 0) + self.queue.stats().depth

    # --- admission, readiness, metrics ----------------------------------------------------
    def admission(self) -> str | None:
        """Why ingest must refuse now (store over its size, disk nearly full), or None.
        Checked at most once a second."""
        now = time.monotonic()
        if now - self._admission_checked < 1.0:
            return self._admission_reason
        with self._admission_lock:
            if now - self._admission_checked < 1.0:
                return self._admission_reason
            reason = None
            qc = self.config.queue
            try:
                size = getattr(self.queue, "size_bytes", lambda: 0)()
                if size > qc.max_bytes:
                    reason = f"the queue holds {size} bytes, over its limit of {qc.max_bytes}"
                self._data_dir.mkdir(parents=True, exist_ok=True)
                free = shutil.disk_usage(self._data_dir).free
                if free < qc.min_free_disk_bytes:
                    reason = f"only {free} bytes free on the data disk (minimum {qc.min_free_disk_bytes})"
            except Exception as exc:
                reason = f"the store can't be checked: {exc}"
            self._admission_reason = reason
            self._admission_checked = now
        return reason

    def ready(self) -> ReadinessReport:
        """What ``/ready`` answers (runs the checks: SQL queries, so call it off the event loop)."""
        return self.readiness.evaluate()

    def metrics_text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        try:
            self.metrics.set_queue_stats(self.queue.stats(), time.time())
            if self.inbox is not None:
                self.metrics.inbox_depth.set(self.inbox.depth())
        except Exception as exc:  # metrics must not fail the scrape
            log.warning("queue stats unavailable: %s", exc)
        return generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST
