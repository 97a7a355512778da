"""The delivery service the server runs: durable enqueue of an action's requests, and the
delivery loops in the server's event loop.

    queue = open_queue(config.queue, config.data_dir)
    service = DeliveryService(queue, {d.name: d.stable_insert_id for d in config.destinations},
                              config.delivery.amplitude_url, settings=DeliverySettings.from_config(config.delivery))
    await service.start()
    ...
    service.enqueue_requests("amplitude", message_id, requests, subscription="Track Calls")  # durable on return
    ...
    await service.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from amprelay.delivery.health import DestinationHealth
from amprelay.delivery.metrics import Metrics
from amprelay.delivery.observer import DeliveryObserver
from amprelay.delivery.sender import Sender
from amprelay.delivery.settings import DeliverySettings
from amprelay.delivery.units import requests_to_units
from amprelay.delivery.worker import DeliveryWorker
from amprelay.destination.request import AmplitudeRequest
from amprelay.store.base import NewUnit, Queue

log = logging.getLogger("amprelay.delivery")


@dataclass(frozen=True, slots=True)
class EnqueueItem:
    """The requests one subscription's action made for one message."""

    destination: str
    message_id: str
    requests: Sequence[AmplitudeRequest]
    subscription: str = ""


class DeliveryService:
    """Owns one :class:`DeliveryWorker` per concurrency slot over a shared queue.

    ``stable_insert_ids`` maps a destination id to its ``stable_insert_id`` setting (default
    true: insert ids derived from the messageId). ``amplitude_base_url`` replaces scheme and host of every request (the local
    Amplitude, a proxy); None sends to the URLs the actions made.
    """

    def __init__(
        self,
        queue: Queue,
        stable_insert_ids: Mapping[str, bool] | None = None,
        amplitude_base_url: str | None = None,
        *,
        settings: DeliverySettings | None = None,
        metrics: Metrics | None = None,
        worker_id: str = "local",
        transport: httpx.AsyncBaseTransport | None = None,
        observer: DeliveryObserver | None = None,
    ):
        self.queue = queue
        self.stable_insert_ids = dict(stable_insert_ids or {})
        self.amplitude_base_url = amplitude_base_url
        self.settings = settings or DeliverySettings()
        self.metrics = metrics or Metrics()
        self.worker_id = worker_id
        self._transport = transport
        self.observer = observer
        self.health = DestinationHealth(self.settings.failure_warning_seconds, self.settings.failure_repeat_seconds,
                                        on_change=self.metrics.set_failing)
        self.sender: Sender | None = None
        self.worker: DeliveryWorker | None = None
        self._tasks: list[asyncio.Task] = []
        self._stats_task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- enqueue (sync, durable on return) ------------------------------------------------------------

    def units_for(self, item: EnqueueItem, created_at: float | None = None) -> list[NewUnit]:
        return requests_to_units(
            item.destination, item.message_id, item.requests, subscription=item.subscription,
            stable_insert_id=self.stable_insert_ids.get(item.destination, True), created_at=created_at,
        )

    def enqueue_requests(self, destination_id: str, message_id: str, requests: Sequence[AmplitudeRequest], *,
                         subscription: str = "", created_at: float | None = None) -> int:
        """Queue the requests' units durably (fsync'd) and return how many units were queued."""
        return self.enqueue_many([EnqueueItem(destination_id, message_id, requests, subscription)], created_at)

    def enqueue_many(self, items: Iterable[EnqueueItem], created_at: float | None = None) -> int:
        """Several messages' requests in one transaction (one fsync): use it for an ingest batch."""
        created_at = time.time() if created_at is None else created_at
        units: list[NewUnit] = []
        per_dest: dict[str, int] = {}
        for item in items:
            us = self.units_for(item, created_at)
            units.extend(us)
            per_dest[item.destination] = per_dest.get(item.destination, 0) + len(us)
        if not units:
            return 0
        self.queue.enqueue(units)
        for dest, n in per_dest.items():
            self.metrics.enqueued.labels(dest).inc(n)
        self.wake()
        return len(units)

    def wake(self) -> None:
        """Tell the delivery loops there is new work (safe from any thread)."""
        loop, worker = self._loop, self.worker
        if loop is None or worker is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            worker.wake()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(worker.wake)

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        s = self.settings
        try:
            released = await asyncio.to_thread(self.queue.release, self.worker_id)
        except Exception as exc:  # the database is away: delivery starts leasing when it is back
            log.warning("the store is unavailable (%s); delivery waits for it", exc)
            released = 0
        if released:
            log.info("took back %d unit(s) leased before a restart", released)
        self.sender = Sender(timeout=s.timeout_seconds, max_connections=max(4, s.concurrency * 4),
                             transport=self._transport)
        self.worker = DeliveryWorker(self.queue, self.sender, s, self.metrics, base_url=self.amplitude_base_url,
                                     worker_id=self.worker_id, observer=self.observer, health=self.health)
        self.worker._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self.worker.run(), name="amprelay-delivery")]
        self._stats_task = asyncio.create_task(self._stats_loop(), name="amprelay-delivery-stats")

    async def stop(self, graceful: bool = True, timeout: float = 30.0) -> None:
        """Stop delivering. Graceful: finish the rounds in flight (up to ``timeout``)."""
        if self.worker is not None:
            self.worker.stop_soon()
        tasks = list(self._tasks)
        if graceful and tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
        else:
            pending = set(tasks)
        for t in pending:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._stats_task is not None:
            self._stats_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stats_task
            self._stats_task = None
        self._tasks = []
        try:
            await asyncio.to_thread(self.queue.release, self.worker_id)
        except Exception as exc:  # leases of a database that is away expire by themselves
            log.warning("could not release this worker's leases: %s", exc)
        if self.sender is not None:
            await self.sender.aclose()
            self.sender = None
        await asyncio.to_thread(self.refresh_stats)

    def refresh_stats(self) -> None:
        with contextlib.suppress(Exception):
            self.metrics.set_queue_stats(self.queue.stats(), time.time())

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.to_thread(self.refresh_stats)
            await asyncio.sleep(self.settings.stats_interval_seconds)

    async def drain(self, timeout: float = 30.0, poll: float = 0.05) -> bool:
        """Wait until no unit is waiting or in flight (tests, shutdown scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = await asyncio.to_thread(self.queue.stats)
            if st.depth == 0:
                return True
            await asyncio.sleep(poll)
        return False
