"""The relay: compiled destinations and the durable queue behind ingest and replay.

``Relay.process`` turns messages into queue units (trigger -> mapping -> action -> units) and
stores them durably in one call; an action that fails for a message (a mapping or validation
error) sends that message's failure to the dead-letter store with its reason, never away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from amprelay.config import Config, DestinationConfig, SourceConfig, all_subscriptions, resolved_mapping
from amprelay.delivery.metrics import Metrics
from amprelay.delivery.units import UnsupportedRequest, requests_to_units
from amprelay.destination import Settings
from amprelay.engine import ActionError, CompiledSubscription, Subscription, compile_subscription
from amprelay.relay.routing import destination_enabled
from amprelay.sessions import SessionAssigner, apply_server_session
from amprelay.store import open_session_store
from amprelay.store.base import InboxReceipt, NewUnit, Queue, Route
from amprelay.store.inbox import SQLiteInbox
from amprelay.store.lock import store_dir
from amprelay.store.sessions import SessionStoreUnavailable
from amprelay.store.space import EXPANSION_PER_DESTINATION, DiskGuard

log = logging.getLogger("amprelay.relay")

# Dead letters that never became an Amplitude request (an invalid message, a mapping error)
# are kept under a route of this method, so `amprelay dlq` lists them with the rest.
REJECTED_METHOD = "REJECTED"


class Refused(Exception):
    """The relay can't keep more now; ingest answers 503 with Retry-After."""

    def __init__(self, reason: str, retry_after: int = 5):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


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


def rejected_unit(destination: str, reason_kind: str, message: Any, message_id: str, now: float) -> NewUnit:
    """A dead-letter unit for something that never became a request."""
    route = Route(destination, REJECTED_METHOD, f"amprelay:{reason_kind}", "json", "message", True, ())
    partition = "rejected"
    if isinstance(message, dict):
        partition = str(message.get("userId") or message.get("anonymousId") or "rejected")
    return NewUnit(route, orjson.dumps(message, default=str), partition, message_id, now)


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
    message with its reason."""
    return (orjson.dumps(messages) if messages else None,
            [(f"invalid message at index {r.get('index')}: {r.get('reason')}",
              orjson.dumps(r.get("message"), default=str)) for r in rejected])


def _rows_bytes(rows: tuple[bytes | None, list[tuple[str, bytes]]]) -> int:
    messages, rejected = rows
    return (len(messages) if messages else 0) + sum(len(m) for _, m in rejected)


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
        self.config = config
        self.queue = queue
        self.metrics = metrics or Metrics()
        self.destinations = [compile_destination(d) for d in config.destinations]
        self._sources_by_key = {s.write_key.get_secret_value(): s for s in config.sources}
        self._data_dir = Path(data_dir or config.data_dir)
        # the free-space guard, checked on every write (see amprelay.store.space)
        self.disk_guard = DiskGuard(
            store_dir(config.queue, self._data_dir) if inbox is not None else self._data_dir,
            config.queue.min_free_disk_bytes,
            expansion=EXPANSION_PER_DESTINATION * max(1, len(config.destinations)) if inbox is not None else 0,
            backlog=(lambda: inbox.pending_bytes) if inbox is not None else None)
        self._admission_lock = threading.Lock()
        self._admission_checked = 0.0
        self._admission_reason: str | None = None
        self.last_error: str | None = None
        self._store_logged_at = -60.0
        self._on_enqueued = on_enqueued
        self.inbox = inbox
        self.pressure = None  # IngestPressure when an inbox processor gives way to ingest
        self.workers: Any = None  # amprelay.relay.workers.Workers when mapping and delivery run in processes
        self.observer = observer
        self.sessions: SessionAssigner | None = None
        if any(d.config.server_sessions.enabled for d in self.destinations):
            self.sessions = open_session_store(config.queue, queue)

    # --- sources --------------------------------------------------------------------------
    def source_for_key(self, write_key: str) -> SourceConfig | None:
        return self._sources_by_key.get(write_key)

    # --- transform ------------------------------------------------------------------------
    def transform(self, source_name: str, message: dict[str, Any], now_ms: int | None = None,
                  result: ProcessResult | None = None) -> ProcessResult:
        """Units for one message over every destination and subscription (pure but for metrics)."""
        out = result if result is not None else ProcessResult()
        message_id = str(message.get("messageId") or "")
        created = time.time()
        original = message
        observer = self.observer
        for dest in self.destinations:
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
                    reason = f"{sub.name} ({sub.action_key}): {getattr(exc, 'message', str(exc))}"
                    out.errors[reason] = out.errors.get(reason, 0) + 1
                    out.dead.append((rejected_unit(dest.name, "mapping", message, message_id, created), reason))
                    if fired is not None:
                        fired.append((sub.name, sub.action_key, 0, getattr(exc, "message", str(exc))))
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
        and ``message``), durably. Returns once they are on disk; raises :class:`Refused`."""
        source_name = source if isinstance(source, str) else source.name
        if self.inbox is None:
            reason = self.admission()
            if reason is not None:
                raise Refused(reason)
        else:
            rows = _inbox_rows(messages, rejected)
            reason = self.admission(_rows_bytes(rows))
            if reason is not None:
                raise Refused(reason)
            try:
                self.inbox.append(source_name, *rows)
            except Exception as exc:
                raise self._inbox_refused(exc) from exc
            self.metrics.received.labels(source_name).inc(len(messages))
            return ProcessResult()
        result = ProcessResult()
        now = time.time()
        try:
            for message in messages:
                self.transform(source_name, message, result=result)
        except SessionStoreUnavailable as exc:
            self.last_error = str(exc)
            log.error("%s", exc)
            raise Refused("the session store is unavailable; retry later", retry_after=5) from exc
        for r in rejected:
            msg = r.get("message")
            mid = str(msg.get("messageId") or "") if isinstance(msg, dict) else ""
            reason = f"invalid message at index {r.get('index')}: {r.get('reason')}"
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
        for _id, source_name, payload, reason in rows:
            if reason is not None:
                mid = str(payload.get("messageId") or "") if isinstance(payload, dict) else ""
                result.dead.append((rejected_unit(f"source:{source_name}", "invalid_message", payload, mid, now),
                                    reason))
                if self.observer is not None:
                    self.observer.on_rejected(source_name, payload, reason, now)
            else:
                for message in payload:
                    self.transform(source_name, message, result=result)
        return result

    def store(self, result: ProcessResult, consumed: InboxReceipt | None = None) -> None:
        """Store ``result``'s units and dead letters durably, and remove the ``consumed`` inbox
        messages they came from in the same transaction."""
        if not result.units and not result.dead and consumed is None:
            return
        try:
            self.queue.enqueue_with_dead(result.units, result.dead, consumed)
        except Exception as exc:
            self.last_error = f"the queue refused the write: {exc}"
            now = time.monotonic()
            if now - self._store_logged_at >= 60.0:  # at most once a minute (a full disk retries)
                self._store_logged_at = now
                log.error("queue write failed: %s", exc)
            raise Refused("the durable store is unavailable; retry later", retry_after=5) from exc
        for unit in result.units:
            self.metrics.enqueued.labels(unit.route.destination).inc()
        if result.units and self._on_enqueued is not None:
            self._on_enqueued()

    async def accept(self, source: SourceConfig, messages: list[dict[str, Any]],
                     rejected: list[dict[str, Any]]) -> None:
        from starlette.concurrency import run_in_threadpool

        from amprelay.server.app import Unavailable

        try:
            if self.inbox is None:  # PostgreSQL: transform and store inline, in a worker thread
                await run_in_threadpool(self.accept_sync, source, messages, rejected)
                return
            # The inbox: the event loop awaits the group write (no worker thread per request).
            rows = _inbox_rows(messages, rejected)
            reason = self.admission(_rows_bytes(rows))
            if reason is not None:
                raise Refused(reason)
            try:
                await self.inbox.append_async(source.name, *rows)
            except Exception as exc:
                raise self._inbox_refused(exc) from exc
            self.metrics.received.labels(source.name).inc(len(messages))
        except Refused as exc:
            raise Unavailable(exc.reason, exc.retry_after) from None

    def _inbox_refused(self, exc: BaseException) -> Refused:
        self.last_error = f"the inbox refused the write: {exc}"
        log.error("inbox write failed: %s", exc)
        return Refused("the durable store is unavailable; retry later", retry_after=5)

    def pending(self) -> int:
        """Messages not yet transformed plus units not yet delivered."""
        return (self.inbox.depth() if self.inbox is not None else 0) + self.queue.stats().depth

    # --- admission, readiness, metrics ----------------------------------------------------
    def admission(self, incoming: int = 0) -> str | None:
        """Why ingest must refuse a write of ``incoming`` bytes now, or None: the store over its
        size (checked at most once a second), or the disk too full to take the write and keep room
        for delivery (checked every time: :class:`amprelay.store.space.DiskGuard`)."""
        now = time.monotonic()
        if now - self._admission_checked >= 1.0:
            with self._admission_lock:
                if now - self._admission_checked >= 1.0:
                    reason = None
                    qc = self.config.queue
                    try:
                        size = self.queue.size_bytes()
                        if size > qc.max_bytes:
                            reason = f"the queue holds {size} bytes, over its limit of {qc.max_bytes}"
                    except Exception as exc:
                        reason = f"the store can't be checked: {exc}"
                    self._admission_reason = reason
                    self._admission_checked = now
        if self._admission_reason is not None:
            return self._admission_reason
        try:
            return self.disk_guard.check(incoming)
        except OSError as exc:
            return f"the data disk can't be checked: {exc}"

    def ready(self) -> tuple[bool, str]:
        reason = self.queue.write_error or (self.workers.problem() if self.workers is not None else None) \
            or self.admission()
        if reason is not None:
            return False, reason
        return True, "ok"

    def metrics_text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        try:
            self.metrics.set_queue_stats(self.queue.stats(), time.time())
            if self.inbox is not None:
                self.metrics.inbox_depth.set(self.inbox.depth())
        except Exception as exc:  # metrics must not fail the scrape
            log.warning("queue stats unavailable: %s", exc)
        if self.workers is not None:  # the worker processes' counts added to this process's
            from amprelay.relay.workers import MergedMetrics

            return generate_latest(MergedMetrics(self.metrics.registry, self.workers.snapshots())), \
                CONTENT_TYPE_LATEST
        return generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST
