"""The delivery loop: lease → batch → send → read the answer → ack / retry / dead-letter (the
pure stages and the records between them are in :mod:`amprelay.delivery.stages`).

Several loops run side by side (``concurrency``); each handles one *round* at a time: it
leases units (lingering briefly when the queue holds less than a full batch, and, while other
rounds are in flight, waiting a little for one of them to finish: the units it unblocks join
the round instead of going in a small round of their own), builds batches,
sends them (batches that share a user/device one after the other, the others in parallel),
and settles every unit of the round in one queue transaction.

Order per user/device: a unit whose partition has an earlier unit that was not accepted in
this round is not sent; it goes back to the queue, where it waits behind the earlier one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from amprelay.delivery.batcher import Batch, Batcher, Limit, waves
from amprelay.delivery.health import DestinationHealth
from amprelay.delivery.metrics import Metrics, observe_many
from amprelay.delivery.observer import DeliveryObserver
from amprelay.delivery.responses import Action, Outcome, Verdict, answer_detail, classify
from amprelay.delivery.sender import Sender, target_url
from amprelay.delivery.settings import DeliverySettings
from amprelay.delivery.stages import Settlement, UnitOutcome, hold_key, park, plan_settlement, unit_outcomes
from amprelay.store.base import Lease, Queue, RetryItem, UnitRoute

log = logging.getLogger("amprelay.delivery")

@dataclass
class _Cap:
    limit: Limit
    until: float


class DeliveryWorker:
    def __init__(
        self,
        queue: Queue,
        sender: Sender,
        settings: DeliverySettings | None = None,
        metrics: Metrics | None = None,
        *,
        base_url: str | None = None,
        worker_id: str = "local",
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        observer: DeliveryObserver | None = None,
        health: DestinationHealth | None = None,
    ):
        self.queue = queue
        self.sender = sender
        self.settings = settings or DeliverySettings()
        self.metrics = metrics or Metrics()
        self.base_url = base_url
        self.worker_id = worker_id
        self.clock = clock
        self.rng = rng
        self.observer = observer
        self.health = health or DestinationHealth(self.settings.failure_warning_seconds,
                                                  self.settings.failure_repeat_seconds, clock=clock)
        self.batcher = Batcher(self.settings.limits)
        self._caps: dict[UnitRoute, _Cap] = {}
        self._held: dict[tuple[str, str], float] = {}  # (destination, api_key) -> hold until
        self._wake: asyncio.Event | None = None
        self._round_done: asyncio.Event | None = None
        self._in_flight = 0  # rounds being delivered or settled
        self._stopping = False
        # rounds whose outcome the store could not write (disk full, database away): their units
        # stay leased to this worker and are settled again, never resent; no new lease meanwhile
        self._unsettled: list[list[UnitOutcome]] = []
        self._settle_backoff = 0.0
        self._settle_logged = 0.0

    # -- public ---------------------------------------------------------------------------------

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def stop_soon(self) -> None:
        self._stopping = True
        self.wake()

    async def run(self) -> None:
        """Lease and deliver until :meth:`stop_soon`: one leasing loop, up to ``concurrency``
        rounds in flight. While rounds are in flight their users/devices are blocked, so the next
        lease takes others; when nothing can be leased the loop waits for new work, a round to
        finish, or ``poll_seconds`` (retries coming due)."""
        if self._wake is None:
            self._wake = asyncio.Event()
        round_done = self._round_done = asyncio.Event()
        s = self.settings
        slots = asyncio.Semaphore(max(1, s.concurrency))
        inflight: set[asyncio.Task] = set()
        wake = self._wake
        lease_backoff, lease_logged = 0.0, -60.0

        def done(task: asyncio.Task) -> None:
            inflight.discard(task)
            self._in_flight = len(inflight)
            slots.release()
            wake.set()
            round_done.set()
            if not task.cancelled() and task.exception() is not None:
                log.error("delivery round failed: %r", task.exception())

        try:
            while not self._stopping:
                await slots.acquire()
                if self._stopping:
                    slots.release()
                    break
                wake.clear()
                self.health.tick(self.clock())
                if self._unsettled and not await self._settle_pending():
                    slots.release()
                    await asyncio.sleep(self._settle_backoff)
                    continue
                try:
                    leases = await self.lease_round()
                except Exception as exc:  # the store is away: back off, say so once a minute
                    slots.release()
                    lease_backoff = min(5.0, max(s.poll_seconds, lease_backoff * 2))
                    now = time.monotonic()
                    if now - lease_logged >= 60.0:
                        lease_logged = now
                        log.error("leasing failed (%s); trying again with backoff", exc)
                    await asyncio.sleep(lease_backoff)
                    continue
                if lease_backoff:
                    log.warning("leasing works again; delivery resumes")
                    lease_backoff, lease_logged = 0.0, -60.0
                if not leases:
                    slots.release()
                    try:
                        await asyncio.wait_for(wake.wait(), s.poll_seconds)
                    except TimeoutError:
                        pass
                    continue
                task = asyncio.create_task(self.deliver_and_settle(leases))
                inflight.add(task)
                self._in_flight = len(inflight)
                task.add_done_callback(done)
        except asyncio.CancelledError:
            for t in list(inflight):  # stopping without grace: the leases are released by the owner
                t.cancel()
            raise
        finally:
            if inflight:
                await asyncio.gather(*list(inflight), return_exceptions=True)
            if self._unsettled:  # one last try; what stays unrecorded is resent after a restart
                await self._settle_pending()

    async def lease_round(self) -> list[Lease]:
        """Lease a round's units, lingering briefly for a fuller batch: until the oldest unit is
        ``linger_ms`` old, and, while other rounds are in flight, up to ``batch_wait_ms`` (at
        most ``linger_ms``) for one of them to finish, leasing again each time one does."""
        s = self.settings
        if self._round_done is not None:
            self._round_done.clear()  # set again when a round finishes after this lease began
        leases = await asyncio.to_thread(self.queue.lease, self.worker_id, s.lease_units, s.lease_seconds)
        if leases and len(leases) < s.lease_units and s.linger_ms > 0 and not self._stopping:
            oldest = min(u.created_at for u in leases)
            wait = oldest + s.linger_ms / 1000.0 - self.clock()
            if wait > 0:
                await asyncio.sleep(min(wait, s.linger_ms / 1000.0))
                await self._lease_more(leases)
            await self._wait_for_rounds(leases, min(s.batch_wait_ms, s.linger_ms) / 1000.0)
        return leases

    async def _lease_more(self, leases: list[Lease]) -> None:
        s = self.settings
        leases.extend(await asyncio.to_thread(self.queue.lease, self.worker_id, s.lease_units - len(leases),
                                              s.lease_seconds))

    async def _wait_for_rounds(self, leases: list[Lease], seconds: float) -> None:
        """While rounds are in flight and the lease is not full, wait (``seconds`` in all) for
        one to finish, then lease again: the partitions it held can send with this round."""
        done = self._round_done
        if seconds <= 0 or done is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self._in_flight and len(leases) < self.settings.lease_units and not self._stopping:
            left = deadline - loop.time()
            if left <= 0:
                return
            if not done.is_set():  # (set: one finished since the last lease began: lease again now)
                try:
                    await asyncio.wait_for(done.wait(), left)
                except TimeoutError:
                    return
            done.clear()
            await self._lease_more(leases)

    async def deliver_and_settle(self, leases: list[Lease]) -> None:
        try:
            results = await self.deliver(leases)
        except Exception as exc:  # a bug must not strand the units: they go back, counted as an attempt
            log.exception("delivery round failed; its %d unit(s) go back to the queue", len(leases))
            later = self.clock() + self.settings.backoff_base_seconds
            await asyncio.to_thread(self.queue.retry, [RetryItem(u.id, later, f"internal error: {exc!r}")
                                                        for u in leases])
            return
        try:
            await asyncio.to_thread(self.settle, results)
        except Exception as exc:  # kept, settled again once the store writes; never resent
            self._unsettled.append(results)
            self._settle_failed(exc)
            return

    async def _settle_pending(self) -> bool:
        """Write the rounds the store refused before; True once none is left."""
        while self._unsettled:
            try:
                await asyncio.to_thread(self.settle, self._unsettled[0])
            except Exception as exc:
                self._settle_failed(exc)
                return False
            self._unsettled.pop(0)
            log.warning("the store writes again: delivery's outcomes are recorded and delivery resumes")
        self._settle_backoff = 0.0
        self._settle_logged = 0.0
        return True

    def _settle_failed(self, exc: Exception) -> None:
        self._settle_backoff = min(5.0, max(0.1, self._settle_backoff * 2))
        now = time.monotonic()
        if not self._settle_logged or now - self._settle_logged >= 60.0:  # at most once a minute
            self._settle_logged = now
            n = sum(len(r) for r in self._unsettled)
            log.error("the store cannot record delivery outcomes (%s): %d unit(s) wait, leased, to be recorded; "
                      "no new units are sent until it writes again", exc, n)

    # -- one round ---------------------------------------------------------------------------------

    async def deliver(self, leases: list[Lease]) -> list[UnitOutcome]:
        now = self.clock()
        out: list[UnitOutcome] = []
        to_send: list[Lease] = []
        for u in leases:
            until = self._held.get(hold_key(u.route)) if self._held else None
            if until is not None and until > now:
                out.append(UnitOutcome(u, Outcome(Action.HOLD, "held: Amplitude rejected the destination's API key")))
            else:
                to_send.append(u)
        batches = self.batcher.build(to_send, self._current_caps(now))
        held_parts: set[str] = set()
        for wave in waves(batches):
            parts = await asyncio.gather(*(self._deliver_batch(b, held_parts) for b in wave))
            for p in parts:
                out.extend(p)
        return out

    def _current_caps(self, now: float) -> dict[UnitRoute, Limit]:
        for r in [r for r, c in self._caps.items() if c.until <= now]:
            del self._caps[r]
        return {r: c.limit for r, c in self._caps.items()}

    async def _deliver_batch(self, batch: Batch, held_parts: set[str]) -> list[UnitOutcome]:
        """park -> send -> classify -> observe the answer -> split, or the units' outcomes."""
        out, rest = park(batch.leases, held_parts)
        if out:
            if not rest:
                return out
            batch = self.batcher.rebuild(batch, rest)
        url, verdict = await self._send(batch)
        self._observe_answer(batch, url, verdict)
        if verdict.split and len(batch) > 1:
            out.extend(await self._split(batch, verdict, held_parts))
            return out
        self._note_api_key(batch.route, verdict, len(batch))
        out.extend(unit_outcomes(batch.leases, verdict, held_parts))
        return out

    async def _send(self, batch: Batch) -> tuple[str, Verdict]:
        """Post the batch and classify Amplitude's answer: (the URL it went to, the verdict)."""
        route = batch.route
        self.metrics.batch_size.labels(route.kind).observe(len(batch))
        url = target_url(route.url, self.base_url)
        ans = await self.sender.post(route.method, url, batch.body, batch.headers)
        return url, classify(ans.status, ans.body, [u.entry for u in batch.leases], ans.error,
                             throttle_seconds=self.settings.throttle_seconds, quota_seconds=self.settings.quota_seconds)

    def _observe_answer(self, batch: Batch, url: str, verdict: Verdict) -> None:
        """The answer in the metrics, the destination's health and the observer."""
        dest = batch.route.destination
        self.metrics.requests.labels(dest, str(verdict.status) if verdict.status is not None else "error").inc()
        self.health.observe(dest, verdict, self.clock())
        if self.observer is not None:
            try:
                self.observer.on_answer(dest, url, verdict.status, answer_detail(verdict), len(batch), batch.leases,
                                        self.clock())
            except Exception:
                log.exception("delivery observer failed")

    async def _split(self, batch: Batch, verdict: Verdict, held_parts: set[str]) -> list[UnitOutcome]:
        """A batch Amplitude refused as a whole (413, or a 400 naming no entry) goes again in halves."""
        route = batch.route
        if verdict.status == 413:
            self._lower_cap(route, batch)
        n = len(batch)
        mid = n // 2
        log.info("Amplitude answered %s to %d %s entries for %s; splitting", verdict.status, n, route.kind,
                 route.destination)
        out = await self._deliver_batch(self.batcher.rebuild(batch, batch.leases[:mid]), held_parts)
        out.extend(await self._deliver_batch(self.batcher.rebuild(batch, batch.leases[mid:]), held_parts))
        return out

    def _note_api_key(self, route: UnitRoute, verdict: Verdict, n: int) -> None:
        """An invalid API key holds the destination's units; a success with it lifts the hold."""
        dest = route.destination
        hk = hold_key(route)
        m = self.metrics
        if verdict.hold:
            self._held[hk] = self.clock() + self.settings.hold_seconds
            m.api_key_invalid.labels(dest).set(1)
            log.error(
                "DESTINATION %r: Amplitude rejects the API key (%s). Its %d queued unit(s) are HELD, not dropped; "
                "fix the destination's apiKey. Trying again in %.0fs.",
                dest, verdict.error, n, self.settings.hold_seconds,
            )
        elif verdict.status is not None and 200 <= verdict.status < 300 and hk in self._held:
            del self._held[hk]
            if not any(k[0] == dest for k in self._held):
                m.api_key_invalid.labels(dest).set(0)
            log.warning("destination %r: Amplitude accepts the API key again; delivery resumes", dest)

    def _lower_cap(self, route: UnitRoute, batch: Batch) -> None:
        lim = self.batcher.limit(route)
        cur = self._caps.get(route)
        base = cur.limit if cur else lim
        new = Limit(max(1, min(base.max_entries, len(batch) // 2)), max(1, min(base.max_bytes, len(batch.body) // 2)))
        self._caps[route] = _Cap(new, self.clock() + self.settings.cap_seconds)
        log.warning("Amplitude answered 413 for %d entries (%d bytes) to %s; batches now at most %d entries, %d bytes",
                    len(batch), len(batch.body), route.url, new.max_entries, new.max_bytes)

    # -- settle ---------------------------------------------------------------------------------------

    def settle(self, results: list[UnitOutcome]) -> None:
        """Write a round's outcomes to the queue (one transaction), then count them and tell the
        observer (:func:`~amprelay.delivery.stages.plan_settlement` decides what is written)."""
        now = self.clock()
        plan = plan_settlement(results, now, self.settings, self.metrics, self._held, self.rng,
                               observed=self.observer is not None)
        stale = self.queue.settle(plan.acks, plan.retries, plan.deads, now=now, tokens=plan.tokens)
        self._observe_settled(plan, stale, now)

    def _observe_settled(self, plan: Settlement, stale: list[int], now: float) -> None:
        m = self.metrics
        for counter in plan.counted:
            counter.inc()
        if stale:  # their lease expired mid-round and another took the units: that one settles them
            m.stale_settlements.inc(len(stale))
            log.warning("%d unit(s) were settled after their lease expired; left to the lease that took them",
                        len(stale))
        if plan.seen and self.observer is not None:
            try:
                self.observer.on_settled(plan.seen, now)
            except Exception:  # an observer must never undo a settled round
                log.exception("delivery observer failed")
        if plan.latencies:
            observe_many(m.latency, plan.latencies)
        for dest, n in plan.delivered.items():
            m.delivered.labels(dest).inc(n)
        if plan.deads:
            log.warning("%d unit(s) moved to the dead-letter store; first reason: %s", len(plan.deads),
                        plan.deads[0][1])
