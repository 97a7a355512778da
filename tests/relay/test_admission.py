"""Ingest's admission check: the store's size is read at most once a second, by one request; the
requests arriving while it is read go by the previous reading instead of queueing behind it."""

from __future__ import annotations

import threading
import time

from amprelay.config import parse_config
from amprelay.relay.runtime import Relay
from amprelay.store import open_queue

CONFIG = """
data_dir: {data_dir}
sources: [{{name: web, write_key: wk-admission-1}}]
destinations:
  - name: amplitude
    settings: {{apiKey: admission-api-key-000001, secretKey: s}}
    subscriptions: [{{name: Tracks, trigger: type = "track", action: logEventV2}}]
"""


class SlowSize:
    """The queue, with a size reading that waits for ``release`` (a store busy with writes)."""

    def __init__(self, queue, size: int):
        self.queue = queue
        self.size = size
        self.reading = threading.Event()
        self.release = threading.Event()
        self.reads = 0

    def __getattr__(self, name):
        return getattr(self.queue, name)

    def size_bytes(self) -> int:
        self.reads += 1
        self.reading.set()
        assert self.release.wait(10)
        return self.size


def test_requests_during_a_size_reading_go_by_the_last_one(tmp_path, monkeypatch):
    cfg = parse_config(CONFIG.format(data_dir=tmp_path), "<test>").config
    cfg.queue.max_bytes = 1000
    queue = open_queue(cfg.queue, cfg.data_dir)
    try:
        relay = Relay(cfg, queue)
        slow = SlowSize(queue, 10)
        relay.queue = slow
        slow.release.set()
        assert relay.admission() is None  # the first reading: under the limit
        slow.release.clear()
        slow.reading.clear()
        slow.size = 5000  # over the limit from now on, as the next reading will tell
        clock = time.monotonic() + 1.5
        monkeypatch.setattr(time, "monotonic", lambda: clock)
        answers: list[str | None] = []
        reader = threading.Thread(target=lambda: answers.append(relay.admission()))
        reader.start()
        assert slow.reading.wait(10)  # one request reads the size, and waits for the store
        assert relay.admission() is None  # another goes by the last reading, at once
        assert slow.reads == 2
        slow.release.set()
        reader.join(10)
        assert answers == ["the queue holds 5000 bytes, over its limit of 1000"]
        assert relay.admission() == "the queue holds 5000 bytes, over its limit of 1000"
        assert slow.reads == 2  # read at most once a second
    finally:
        queue.close()
