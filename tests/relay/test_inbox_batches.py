"""One processor transaction takes as many inbox rows as fit in its byte budget (at least one),
in order, so single-event requests are mapped many per commit; each row once."""

from __future__ import annotations

import orjson

from amprelay.relay.inbox import InboxProcessor
from amprelay.store.inbox import SQLiteInbox
from amprelay.store.sqlite import SQLiteQueue


def test_rows_per_transaction_follow_the_byte_budget(tmp_path):
    queue = SQLiteQueue(tmp_path / "q.sqlite")
    inbox = SQLiteInbox(queue.db)
    sizes = [100, 100, 100, 5000, 100, 100]
    for n, size in enumerate(sizes):
        inbox.append("src", orjson.dumps([{"n": n, "pad": "x" * size}]))
    transactions: list[list[int]] = []

    def process(rows):
        return [m["n"] for _id, _src, payload, _reason in rows for m in payload]

    def store(result, consumed):
        transactions.append(result)
        queue.enqueue_with_dead([], [], consumed)

    proc = InboxProcessor(inbox, process, store)
    assert proc.drain_once(None, 1000) == 3  # three small rows fit; the large one waits
    assert proc.drain_once(None, 1000) == 1  # alone over the budget: taken alone
    assert proc.drain_once() == 2  # the default budget takes the rest
    assert proc.drain_once() == 0
    assert transactions == [[0, 1, 2], [3], [4, 5]]
    assert inbox.depth() == 0
    inbox.close()
    queue.close()
