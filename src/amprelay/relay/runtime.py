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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from amprelay.config import Config, SourceConfig, config_secrets
from amprelay.delivery.metrics import Metrics
from amprelay.errors import Unavailable
from amprelay.js.json import dumps, well_formed
from amprelay.masking import mask_text, register_secrets
from amprelay.relay.compiled import CompiledConfig, CompiledDestination, compile_config
from amprelay.relay.readiness import (
    AdmissionCheck,
    Readiness,
    ReadinessReport,
    StoreWriteCheck,
    UndeliveredAgeCheck,
)
from amprelay.relay.routing import destination_enabled
from amprelay.relay.stages import ProcessResult, matching, record_run, rejected_unit, routed, run_subscription
from amprelay.sessions import SessionStateStore, apply_server_session
from amprelay.store import open_session_store
from amprelay.store.base import InboxReceipt, MessageClaims, Queue
from amprelay.store.inbox import SQLiteInbox
from amprelay.store.lock import store_dir
from amprelay.store.sessions import SessionStoreUnavailable
from amprelay.store.space import EXPANSION_PER_DESTINATION, DiskGuard

if TYPE_CHECKING:
    from amprelay.relay.inbox import IngestPressure
    from amprelay.relay.workers import Workers

log = logging.getLogger("amprelay.relay")



class RelayObserver(Protocol):
    """Told what became of each message (the console's activity record)."""

    def on_message(self, source: str, message: dict[str, Any], destination: str,
                   fired: Sequence[tuple[str, str, int, str | None]], now: float) -> None:
        """``message`` reached ``destination``; ``fired`` lists each subscription that ran as
        (name, action, units queued, error or None); empty: filtered (no subscription matched,
        or its integrations object turned the destination off)."""

    def on_rejected(self, source: str, message: Any, reason: str, now: float) -> None:
        """An invalid message went to the dead-letter store at ingest."""


def _inbox_rows(messages: Sequence[dict[str, Any]], rejected: Iterable[dict[str, Any]],
                payload: bytes | None = None) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """An inbox append's arguments: the accepted messages as one JSON array (``payload`` when
    the caller serialised them), and each rejected record (ingest sends one per request: counts
    and samples) with its reason."""
    return (None if not messages else payload if payload is not None else dumps(messages),
            [(_rejected_reason(r), dumps(r.get("message"), default=str)) for r in rejected])


def _rejected_reason(r: dict[str, Any]) -> str:
    index = r.get("index")
    reason = str(r.get("reason")) if index is None else f"invalid message at index {index}: {r.get('reason')}"
    return mask_text(well_formed(reason))  # reasons may quote the message


def _claims_of(result: ProcessResult) -> MessageClaims | None:
    """A result's messageId claims, if it makes any."""
    return result.claims if result.claims is not None and result.claims.units_of else None


def _rows_bytes(rows: tuple[bytes | None, list[tuple[str, bytes]]]) -> int:
    messages, rejected = rows
    return (len(messages) if messages else 0) + sum(len(m) for _, m in rejected)


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
        self.pressure: IngestPressure | None = None  # IngestPressure when an inbox processor gives way to ingest
        self.workers: Workers | None = None  # when mapping and delivery run in processes
        self.observer = observer
        self.readiness = Readiness([
            AdmissionCheck(self.admission),
            StoreWriteCheck([queue, inbox]),
            UndeliveredAgeCheck(lambda: queue.stats(), config.delivery.ready_max_undelivered_age_seconds),
        ])
        register_secrets(config_secrets(config))
        self.sessions: SessionStateStore | None = None
        if any(d.config.server_sessions.enabled for d in self.destinations):
            self.sessions = open_session_store(config.queue, queue)

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
            self.sessions = open_session_store(config.queue, self.queue)
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
        with ``compiled`` (default: the running config); the stages are in :mod:`amprelay.relay.stages`."""
        out = result if result is not None else ProcessResult()
        message_id = str(message.get("messageId") or "")
        created = time.time()
        metrics, observer = self.metrics, self.observer
        for dest in (compiled or self._active).destinations:
            if not routed(dest, source_name):
                continue
            if not destination_enabled(message):
                metrics.child(metrics.filtered, dest.name).inc()
                if observer is not None:
                    observer.on_message(source_name, message, dest.name, [], created)
                continue
            msg = self._sessionized(dest, message, created)
            fired = [record_run(out, metrics, dest.name, run_subscription(dest, sub, msg, message_id, now_ms, created),
                                msg, message_id, created)
                     for sub in matching(dest, msg)]
            if not fired:
                metrics.child(metrics.filtered, dest.name).inc()
            if observer is not None:
                observer.on_message(source_name, msg, dest.name, fired, created)
        return out

    def _sessionized(self, dest: CompiledDestination, message: dict[str, Any], created: float) -> dict[str, Any]:
        """The message with the server-side session id, when the destination assigns them."""
        sessions = dest.config.server_sessions
        if sessions.enabled and self.sessions is not None:
            return apply_server_session(self.sessions, dest.name, message, int(sessions.gap_minutes * 60_000),
                                        int(created * 1000))
        return message

    def _result(self) -> ProcessResult:
        """A result for ingest: with messageId dedupe claims unless the window is 0."""
        window = self.config.ingest.dedupe_window
        return ProcessResult(claims=MessageClaims(window, time.time()) if window > 0 else None)

    def transform_once(self, source_name: str, message: dict[str, Any], result: ProcessResult,
                       compiled: CompiledConfig | None = None) -> None:
        """:meth:`transform`, noting which units and dead letters are the message's for the
        dedupe (a messageId seen twice in one result is dropped at once)."""
        claims = result.claims
        mid = message.get("messageId") if claims is not None else None
        if claims is None or mid is None or mid == "" or isinstance(mid, dict | list):
            self.transform(source_name, message, result=result, compiled=compiled)
            return
        # JSON-escaped (injective): the store's text column holds no NUL and no lone surrogate
        key = (source_name, dumps(str(mid)).decode()[1:-1])
        if key in claims.units_of:
            result.repeated[source_name] = result.repeated.get(source_name, 0) + 1
            return
        u0, d0 = len(result.units), len(result.dead)
        self.transform(source_name, message, result=result, compiled=compiled)
        claims.units_of[key] = range(u0, len(result.units))
        if len(result.dead) > d0:
            claims.dead_of[key] = list(range(d0, len(result.dead)))

    # --- durable acceptance ---------------------------------------------------------------
    def accept_sync(self, source: SourceConfig | str, messages: Sequence[dict[str, Any]],
                    rejected: Iterable[dict[str, Any]] = ()) -> ProcessResult:
        """Transform ``messages`` and store every unit, plus ``rejected`` (each with ``reason``
        and ``message``), durably. Returns once they are on disk; raises :class:`Unavailable`."""
        source_name = source if isinstance(source, str) else source.name
        if self.inbox is None:
            self._admit()
        else:
            rows = _inbox_rows(messages, rejected)
            self._admit(_rows_bytes(rows))
            try:
                self.inbox.append(source_name, *rows)
            except Exception as exc:
                raise self._inbox_refused(exc) from exc
            self.metrics.received.labels(source_name).inc(len(messages))
            return ProcessResult()
        result = self._transformed(source_name, messages, rejected)
        self.store(result)
        self.metrics.received.labels(source_name).inc(len(messages))
        return result

    def _admit(self, incoming: int = 0) -> None:
        reason = self.admission(incoming)
        if reason is not None:
            raise Unavailable(reason)

    def _transformed(self, source_name: str, messages: Sequence[dict[str, Any]],
                     rejected: Iterable[dict[str, Any]]) -> ProcessResult:
        """One request's units (with the running config) and its ``rejected`` messages as dead
        letters, with their messageId claims."""
        result = self._result()
        now = time.time()
        compiled = self._active  # one request, one config
        try:
            for message in messages:
                self.transform_once(source_name, message, result, compiled)
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
        return result

    def process_inbox(self, rows: list[tuple[int, str, Any, str | None]]) -> ProcessResult:
        """Units for inbox rows ``(id, source, payload, reason)``: a list of messages, or (with a
        reason) one message rejected at ingest, which goes to the dead-letter store."""
        result = self._result()
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
                    self.transform_once(source_name, message, result, compiled)
        return result

    def store(self, result: ProcessResult, consumed: InboxReceipt | None = None) -> None:
        """Store ``result``'s units and dead letters durably, and remove the ``consumed`` inbox
        messages they came from in the same transaction."""
        claims = _claims_of(result)
        if not result.units and not result.dead and consumed is None and claims is None:
            return
        try:
            self.queue.enqueue_with_dead(result.units, result.dead, consumed, claims)
        except Exception as exc:
            raise self._queue_refused(exc) from exc
        self._stored(result, claims)

    async def store_async(self, result: ProcessResult) -> None:
        """:meth:`store` (no inbox messages consumed) awaited on the event loop."""
        claims = _claims_of(result)
        if not result.units and not result.dead and claims is None:
            return
        try:
            await self.queue.enqueue_with_dead_async(result.units, result.dead, claims)
        except Exception as exc:
            raise self._queue_refused(exc) from exc
        self._stored(result, claims)

    def _queue_refused(self, exc: BaseException) -> Unavailable:
        self.last_error = f"the queue refused the write: {exc}"
        now = time.monotonic()
        if now - self._store_logged_at >= 60.0:  # at most once a minute (a full disk retries)
            self._store_logged_at = now
            log.error("queue write failed: %s", exc)
        return Unavailable("the durable store is unavailable; retry later", retry_after=5)

    def _stored(self, result: ProcessResult, claims: MessageClaims | None) -> None:
        """The metrics of a stored result, and the delivery woken."""
        dropped = dict(result.repeated)
        skipped: set[int] = set()
        if claims is not None and claims.duplicates:
            skipped = claims.skipped()[0]
            for source_name, _mid in claims.duplicates:
                dropped[source_name] = dropped.get(source_name, 0) + 1
        for source_name, n in dropped.items():
            self.metrics.deduplicated.labels(source_name).inc(n)
        enqueued: dict[str, int] = {}  # counted per destination, then one increment each
        for i, unit in enumerate(result.units):
            if i not in skipped:
                destination = unit.route.destination
                enqueued[destination] = enqueued.get(destination, 0) + 1
        for destination, n in enqueued.items():
            self.metrics.enqueued.labels(destination).inc(n)
        if result.units and self._on_enqueued is not None:
            self._on_enqueued()

    async def accept(self, source: SourceConfig, messages: list[dict[str, Any]],
                     rejected: list[dict[str, Any]], payload: bytes | None = None) -> None:
        """``payload``: ``messages`` as one JSON array (``dumps(messages)``) when ingest has it."""
        from starlette.concurrency import run_in_threadpool

        if self.inbox is None:  # PostgreSQL: transform and store inline
            if self.sessions is not None:  # server-side sessions read and write their store: a worker thread
                await run_in_threadpool(self.accept_sync, source, messages, rejected)
                return
            # Else the event loop transforms (a worker thread would take the same GIL, plus two
            # hand-offs a request) and awaits the group commit; the store's size, a query once a
            # second, is read off the loop.
            if time.monotonic() - self._admission_checked >= 1.0:
                await run_in_threadpool(self._admit)
            else:
                self._admit()
            await self.store_async(self._transformed(source.name, messages, rejected))
            self.metrics.received.labels(source.name).inc(len(messages))
            return
        # The inbox: the event loop awaits the group write (no worker thread per request).
        rows = _inbox_rows(messages, rejected, payload)
        self._admit(_rows_bytes(rows))
        try:
            await self.inbox.append_async(source.name, *rows)
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
    def admission(self, incoming: int = 0) -> str | None:
        """Why ingest must refuse a write of ``incoming`` bytes now, or None: the store over its
        size (checked at most once a second), or the disk too full to take the write and keep room
        for delivery (checked every time: :class:`amprelay.store.space.DiskGuard`)."""
        now = time.monotonic()
        # one request checks; those arriving meanwhile go by the last check instead of waiting for
        # this one (all wait for the very first)
        if now - self._admission_checked >= 1.0 and self._admission_lock.acquire(
                blocking=self._admission_checked == 0.0):
            try:
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
            finally:
                self._admission_lock.release()
        if self._admission_reason is not None:
            return self._admission_reason
        try:
            return self.disk_guard.check(incoming)
        except OSError as exc:
            return f"the data disk can't be checked: {exc}"

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
        if self.workers is not None:  # the worker processes' counts added to this process's
            from amprelay.relay.workers import MergedMetrics

            return generate_latest(MergedMetrics(self.metrics.registry, self.workers.snapshots())), \
                CONTENT_TYPE_LATEST
        return generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST
