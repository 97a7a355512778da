"""delivery.batch_wait_ms: a partial round waits for the rounds in flight (DeliveryWorker.lease_round)."""

from __future__ import annotations

import asyncio
import time

from amprelay.delivery.sender import Sender
from amprelay.delivery.settings import DeliverySettings
from amprelay.delivery.worker import DeliveryWorker
from amprelay.store.sqlite import SQLiteQueue
from tests.queue.test_queue_backends import unit


def lease_while_a_round_is_in_flight(q: SQLiteQueue, settings: DeliverySettings, finish: bool) -> list[int]:
    """User a's first unit is in a round in flight; lease a round, and (``finish``) let that round
    settle shortly after."""

    async def main() -> list[int]:
        sender = Sender()
        w = DeliveryWorker(q, sender, settings)
        w._round_done = asyncio.Event()
        in_flight = q.lease("w-other", 1, 60)
        w._in_flight = 1
        task = asyncio.create_task(w.lease_round())
        await asyncio.sleep(0.05)
        if finish:
            q.settle(ack=[u.id for u in in_flight], tokens={u.id: u.token for u in in_flight})
            w._in_flight = 0
            w._round_done.set()
        got = await task
        await sender.aclose()
        return [u.id for u in got]

    return asyncio.run(main())


def test_a_partial_round_waits_for_the_round_in_flight_and_takes_what_it_unblocks(tmp_path):
    q = SQLiteQueue(tmp_path / "q.sqlite3")
    old = time.time() - 10  # older than linger_ms: only the wait for the round in flight holds the round
    a0, a1, b0 = q.enqueue([unit("a", 0, created=old), unit("a", 1, created=old), unit("b", 2, created=old)])
    got = lease_while_a_round_is_in_flight(q, DeliverySettings(linger_ms=1000, batch_wait_ms=2000, lease_units=10),
                                           finish=True)
    # one round: b's unit and a's, unblocked meanwhile (a wait that ran out would not lease again)
    assert got == [b0, a1]
    q.close()


def test_without_batch_wait_or_linger_the_round_goes_with_what_it_has(tmp_path):
    for settings in (DeliverySettings(linger_ms=1000, batch_wait_ms=0), DeliverySettings(linger_ms=0, batch_wait_ms=500)):
        q = SQLiteQueue(tmp_path / f"q{settings.linger_ms:.0f}.sqlite3")
        old = time.time() - 10
        _, _, b0 = q.enqueue([unit("a", 0, created=old), unit("a", 1, created=old), unit("b", 2, created=old)])
        assert lease_while_a_round_is_in_flight(q, settings, finish=True) == [b0]
        q.close()


def test_the_wait_ends_at_batch_wait_ms_when_no_round_finishes(tmp_path):
    q = SQLiteQueue(tmp_path / "q.sqlite3")
    old = time.time() - 10
    _, _, b0 = q.enqueue([unit("a", 0, created=old), unit("a", 1, created=old), unit("b", 2, created=old)])
    assert lease_while_a_round_is_in_flight(q, DeliverySettings(linger_ms=1000, batch_wait_ms=20), finish=False) == [b0]
    q.close()
