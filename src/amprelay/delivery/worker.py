"""The delivery loop: lease → batch → send → read the answer → ack / retry / dead-letter.

Several loops run side by side (``concurrency``); each handles one *round* at a time: it
leases units (lingering briefly when the queue holds less than a full batch), builds batches,
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
from typing import Any, Protocol

from amprelay import defaults
from amprelay.delivery.batcher import Batch, Batcher, Limit, waves
from amprelay.delivery.health import DestinationHealth
from amprelay.delivery.metrics import Metrics, observe_many
from amprelay.delivery.observer import DeliveryObserver, Settled
from amprelay.delivery.responses import Action, Outcome, answer_detail, classify
from amprelay.delivery.sender import Sender, target_url
from amprelay.store.base import Lease, Queue, RetryItem, UnitRoute

log = logging.getLogger("amprelay.delivery")

PARKED = Outcome(Action.RESEND, "waiting behind an earlier unit of the same user/device")


@dataclass
class DeliverySettings:
    # from the config's `delivery:` section (amprelay.defaults declares their defaults once)
    max_age_seconds: float = defaults.MAX_AGE_SECONDS
    linger_ms: float = defaults.LINGER_MS
    concurrency: int = defaults.CONCURRENCY
    timeout_seconds: float = defaults.TIMEOUT_SECONDS
    failure_warning_seconds: float = defaults.FAILURE_WARNING_SECONDS
    failure_repeat_seconds: float = defaults.FAILURE_REPEAT_SECONDS
    # delivery's own
    lease_units: int = 4000  # units per round
    lease_seconds: float = 300.0
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 600.0
    hold_seconds: float = 60.0  # invalid API key: probe again after this long
    throttle_seconds: float = 30.0  # 429: pause for the throttled users/devices (Amplitude: 15-30 s)
    quota_seconds: float = 3600.0  # 429 past a daily quota
    cap_seconds: float = 300.0  # a 413 lowers the route's batch limit for this long
    poll_seconds: float = 0.25
    stats_interval_seconds: float = 5.0
    limits: dict[str, Limit] | None = None

    @classmethod
    def from_config(cls, cfg: DeliveryOptions, *, poll_seconds: float = 0.25) -> DeliverySettings:
        """From the config's ``delivery:`` section (``amprelay.config.DeliveryConfig``)."""
        return cls(max_age_seconds=cfg.max_age_seconds, linger_ms=cfg.linger_ms, concurrency=cfg.concurrency,
                   timeout_seconds=cfg.timeout_seconds, failure_warning_seconds=cfg.failure_warning_seconds,
                   failure_repeat_seconds=cfg.failure_repeat_seconds, poll_seconds=poll_seconds)


class DeliveryOptions(Protocol):
    """What delivery reads of the config's ``delivery:`` section (``amprelay.config.DeliveryConfig``
    has these attributes; delivery sits beside the config in the import layers, not above it)."""

    @property
    def max_age_seconds(self) -> float: ...
    @property
    def linger_ms(self) -> float: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def failure_warning_seconds(self) -> float: ...
    @property
    def failure_repeat_seconds(self) -> float: ...


def _hold_key(route: UnitRoute) -> tuple[str, str]:
    """An invalid API key holds the destination's units sent with that key."""
    for k, v in route.template:
        if k == "api_key":
            return route.destination, str(v)
    return route.destination, ""


def backoff_delay(attempts: int, base: float, cap: float, rnd: float) -> float:
    """Exponential backoff with jitter: between half and all of ``min(cap, base * 2**attempts)``."""
    d = min(cap, base * (2 ** min(attempts, 40)))
    return d * (0.5 + 0.5 * rnd)


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
        self._stopping = False
        # rounds whose outcome the store could not write (disk full, database away): their units
        # stay leased to this worker and are settled again, never resent; no new lease meanwhile
        self._unsettled: list[list[tuple[Lease, Outcome]]] = []
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
        s = self.settings
        slots = asyncio.Semaphore(max(1, s.concurrency))
        inflight: set[asyncio.Task] = set()
        wake = self._wake
        lease_backoff, lease_logged = 0.0, -60.0

        def done(task: asyncio.Task) -> None:
            inflight.discard(task)
            slots.release()
            wake.set()
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
        """Lease a round's units, lingering briefly for a fuller batch."""
        s = self.settings
        leases = await asyncio.to_thread(self.queue.lease, self.worker_id, s.lease_units, s.lease_seconds)
        if leases and len(leases) < s.lease_units and s.linger_ms > 0 and not self._stopping:
            oldest = min(u.created_at for u in leases)
            wait = oldest + s.linger_ms / 1000.0 - self.clock()
            if wait > 0:
                await asyncio.sleep(min(wait, s.linger_ms / 1000.0))
                more = await asyncio.to_thread(
                    self.queue.lease, self.worker_id, s.lease_units - len(leases), s.lease_seconds)
                leases.extend(more)
        return leases

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

    async def deliver(self, leases: list[Lease]) -> list[tuple[Lease, Outcome]]:
        now = self.clock()
        out: list[tuple[Lease, Outcome]] = []
        to_send: list[Lease] = []
        for u in leases:
            until = self._held.get(_hold_key(u.route)) if self._held else None
            if until is not None and until > now:
                out.append((u, Outcome(Action.HOLD, "held: Amplitude rejected the destination's API key")))
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

    async def _deliver_batch(self, batch: Batch, held_parts: set[str]) -> list[tuple[Lease, Outcome]]:
        out: list[tuple[Lease, Outcome]] = []
        if held_parts:
            rest = [u for u in batch.leases if u.partition not in held_parts]
            if len(rest) < len(batch.leases):
                out.extend((u, PARKED) for u in batch.leases if u.partition in held_parts)
                if not rest:
                    return out
                batch = self.batcher.rebuild(batch, rest)
        route = batch.route
        dest = route.destination
        m = self.metrics
        m.batch_size.labels(route.kind).observe(len(batch))
        url = target_url(route.url, self.base_url)
        ans = await self.sender.post(route.method, url, batch.body, batch.headers)
        verdict = classify(ans.status, ans.body, [u.entry for u in batch.leases], ans.error,
                           throttle_seconds=self.settings.throttle_seconds, quota_seconds=self.settings.quota_seconds)
        m.requests.labels(dest, str(verdict.status) if verdict.status is not None else "error").inc()
        self.health.observe(dest, verdict, self.clock())
        n = len(batch)
        if self.observer is not None:
            try:
                self.observer.on_answer(dest, url, verdict.status, answer_detail(verdict), n, batch.leases,
                                        self.clock())
            except Exception:
                log.exception("delivery observer failed")
        if verdict.split and n > 1:
            if verdict.status == 413:
                self._lower_cap(route, batch)
            mid = n // 2
            log.info("Amplitude answered %s to %d %s entries for %s; splitting", verdict.status, n, route.kind, dest)
            out.extend(await self._deliver_batch(self.batcher.rebuild(batch, batch.leases[:mid]), held_parts))
            out.extend(await self._deliver_batch(self.batcher.rebuild(batch, batch.leases[mid:]), held_parts))
            return out
        hk = _hold_key(route)
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
        for u, o in zip(batch.leases, verdict.outcomes, strict=True):
            out.append((u, o))
            if o.action is not Action.DONE and o.action is not Action.DEAD:
                held_parts.add(u.partition)
        return out

    def _lower_cap(self, route: UnitRoute, batch: Batch) -> None:
        lim = self.batcher.limit(route)
        cur = self._caps.get(route)
        base = cur.limit if cur else lim
        new = Limit(max(1, min(base.max_entries, len(batch) // 2)), max(1, min(base.max_bytes, len(batch.body) // 2)))
        self._caps[route] = _Cap(new, self.clock() + self.settings.cap_seconds)
        log.warning("Amplitude answered 413 for %d entries (%d bytes) to %s; batches now at most %d entries, %d bytes",
                    len(batch), len(batch.body), route.url, new.max_entries, new.max_bytes)

    # -- settle ---------------------------------------------------------------------------------------

    def settle(self, results: list[tuple[Lease, Outcome]]) -> None:
        """Write a round's outcomes to the queue (one transaction) and count them."""
        s = self.settings
        now = self.clock()
        acks: list[int] = []
        retries: list[RetryItem] = []
        deads: list[tuple[int, str]] = []
        m = self.metrics
        delivered: dict[str, int] = {}
        part_until: dict[str, float] = {}  # one retry time per partition: its units become due together
        latencies: list[float] = []
        counted: list[Any] = []  # counters bumped once the outcome is recorded (a refused write is redone)
        seen: list[tuple[Lease, Settled, str]] | None = [] if self.observer is not None else None
        for u, o in results:
            dest = u.route.destination
            a = o.action
            if a is Action.DONE:
                acks.append(u.id)
                delivered[dest] = delivered.get(dest, 0) + 1
                latencies.append(max(0.0, now - u.created_at))
                if seen is not None:
                    seen.append((u, "delivered", ""))
                continue
            if a is Action.DEAD:
                deads.append((u.id, o.reason))
                counted.append(m.dead_lettered.labels(dest))
                if seen is not None:
                    seen.append((u, "dead", o.reason))
                continue
            if seen is not None and a is not Action.BACKOFF and a is not Action.THROTTLED:
                seen.append((u, "retrying", o.reason or a.value))
            if a is Action.RESEND or a is Action.SPLIT:
                retries.append(RetryItem(u.id, now, None, False))
                counted.append(m.retried.labels(dest, "resend"))
            elif a is Action.HOLD:
                retries.append(RetryItem(u.id, self._held.get(_hold_key(u.route), now + s.hold_seconds), o.reason,
                                         False))
                counted.append(m.retried.labels(dest, "api_key"))
            else:  # BACKOFF, THROTTLED
                age = now - u.created_at
                if age >= s.max_age_seconds:
                    deads.append((u.id, f"undelivered after {u.attempts + 1} attempt(s) over {age / 3600:.1f}h "
                                        f"(maximum age {s.max_age_seconds / 3600:.1f}h); last error: {o.reason}"))
                    counted.append(m.dead_lettered.labels(dest))
                    if seen is not None:
                        seen.append((u, "dead", deads[-1][1]))
                    continue
                if seen is not None:
                    seen.append((u, "retrying", o.reason))
                if a is Action.THROTTLED:
                    delay = o.delay * (1.0 + 0.5 * self.rng())
                    counted.append(m.throttled.labels(dest))
                    counted.append(m.retried.labels(dest, "throttled"))
                else:
                    delay = backoff_delay(u.attempts, s.backoff_base_seconds, s.backoff_max_seconds, self.rng())
                    counted.append(m.retried.labels(dest, "error"))
                until = part_until.get(u.partition)
                if until is None:
                    until = part_until[u.partition] = now + min(delay, max(0.0, s.max_age_seconds - age) + 1.0)
                retries.append(RetryItem(u.id, until, o.reason, True))
        stale = self.queue.settle(acks, retries, deads, now=now, tokens={u.id: u.token for u, _ in results})
        for counter in counted:
            counter.inc()
        if stale:  # their lease expired mid-round and another took the units: that one settles them
            m.stale_settlements.inc(len(stale))
            log.warning("%d unit(s) were settled after their lease expired; left to the lease that took them",
                        len(stale))
        if seen and self.observer is not None:
            try:
                self.observer.on_settled(seen, now)
            except Exception:  # an observer must never undo a settled round
                log.exception("delivery observer failed")
        if latencies:
            observe_many(m.latency, latencies)
        for dest, n in delivered.items():
            m.delivered.labels(dest).inc(n)
        if deads:
            log.warning("%d unit(s) moved to the dead-letter store; first reason: %s", len(deads), deads[0][1])
