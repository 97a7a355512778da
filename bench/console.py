"""What the web console costs: the activity record's work per event on the relay's hot path
(one on_message at transform, one on_answer and one on_settled at delivery), and how long the
overview's data takes with a full day of per-minute counts.

    .venv/bin/python bench/console.py
"""

from __future__ import annotations

import time

from amprelay.console.activity import Activity
from amprelay.console.charts import bar_chart
from amprelay.store.base import Lease, UnitRoute

ROUTE = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False, ())


def main(n: int = 200_000) -> None:
    a = Activity(None, live_events=200)
    fired = [("Track Calls", "logEventV2", 1, None)]
    messages = [{"messageId": f"m{i}", "type": "track", "event": "E", "userId": f"u{i % 500}"} for i in range(n)]
    leases = [Lease(i, ROUTE, b"{}", "u", f"m{i}", 0.0) for i in range(n)]
    now = time.time()

    t = time.perf_counter()
    for m in messages:
        a.on_message("web", m, "amp", fired, now)
    transform_us = (time.perf_counter() - t) / n * 1e6

    t = time.perf_counter()
    for i in range(0, n, 500):  # delivery reports per batch of 500
        batch = leases[i:i + 500]
        a.on_answer("amp", ROUTE.url, 200, "", len(batch), batch, now)
        a.on_settled([(u, "delivered", "") for u in batch], now)
    delivery_us = (time.perf_counter() - t) / n * 1e6

    # A full day of counts: one bucket per minute.
    for k in range(24 * 60):
        a.on_message("web", {"messageId": f"d{k}"}, "amp", fired, now - k * 60)
    t = time.perf_counter()
    rounds = 50
    for _ in range(rounds):
        hour = a.series("amp", 60, 1, now)
        day = a.series("amp", 24, 60, now)
        a.totals("amp", 3600, now), a.totals("amp", 86400, now)
        bar_chart([(str(m), c) for m, c in hour], title="h")
        bar_chart([(str(m), c) for m, c in day], title="d")
    overview_ms = (time.perf_counter() - t) / rounds * 1e3

    print(f"activity at transform: {transform_us:.2f} us/event ({n:,} events)")
    print(f"activity at delivery:  {delivery_us:.2f} us/unit (batches of 500)")
    print(f"overview data + charts for a full day: {overview_ms:.2f} ms")


if __name__ == "__main__":
    main()
