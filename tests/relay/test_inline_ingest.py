"""Ingest on PostgreSQL (no inbox: the relay transforms what it receives and enqueues it before
answering): the event loop transforms the request and awaits the group commit, with no worker
thread; the store's size (a query) is read off the loop; with server-side sessions (their store is
read and written per message) the request goes to a worker thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

from amprelay.config import parse_config
from amprelay.relay.runtime import Relay, Unavailable

CONFIG = """
data_dir: {data_dir}
sources: [{{name: web, write_key: wk-inline-0001}}]
destinations:
  - name: amplitude
    settings: {{apiKey: inline-api-key-0000001, secretKey: s}}
    subscriptions: [{{name: Tracks, trigger: type = "track", action: logEventV2}}]
{sessions}
queue: {{backend: postgres, dsn: "{dsn}"}}
"""

TRACK = {"type": "track", "event": "Opened", "userId": "u1", "messageId": "m-1",
         "timestamp": "2026-12-07T10:00:00.000Z"}


@contextlib.contextmanager
def relay_on(tmp_path, dsn: str, sessions: bool = False):
    from amprelay.store import open_queue

    extra = "    server_sessions: {enabled: true}" if sessions else ""
    cfg = parse_config(CONFIG.format(data_dir=tmp_path, dsn=dsn, sessions=extra), "<test>").config
    queue = open_queue(cfg.queue, cfg.data_dir)
    relay = Relay(cfg, queue)
    try:
        yield relay
    finally:
        if relay.sessions is not None:
            relay.sessions.close()
        queue.close()


def threads_of(relay: Relay, monkeypatch) -> tuple[list[str], list[str]]:
    """Where each message was transformed, and what went to a worker thread."""
    transformed: list[str] = []
    offloaded: list[str] = []
    real_transform = relay.transform_once

    def transform_once(*args, **kwargs):
        transformed.append(threading.current_thread().name)
        return real_transform(*args, **kwargs)

    import starlette.concurrency

    real_pool = starlette.concurrency.run_in_threadpool

    async def run_in_threadpool(fn, *args, **kwargs):
        offloaded.append(getattr(fn, "__name__", repr(fn)))
        return await real_pool(fn, *args, **kwargs)

    monkeypatch.setattr(relay, "transform_once", transform_once)
    monkeypatch.setattr(starlette.concurrency, "run_in_threadpool", run_in_threadpool)
    return transformed, offloaded


def test_the_event_loop_transforms_and_awaits_the_commit(tmp_path, pg_dsn, monkeypatch):
    with relay_on(tmp_path, pg_dsn) as relay:
        source = relay.source_for_key("wk-inline-0001")
        asyncio.run(relay.accept(source, [dict(TRACK)], []))  # the first: the store's size read off the loop
        transformed, offloaded = threads_of(relay, monkeypatch)
        relay._admission_checked = float("inf")  # (read a moment ago)
        asyncio.run(relay.accept(source, [dict(TRACK, messageId="m-2"), dict(TRACK, messageId="m-1")],
                                 [{"reason": "invalid: no type", "message": {"messageId": "bad"}}]))
        assert transformed == ["MainThread", "MainThread"] and offloaded == []
        leased = relay.queue.lease("w", 10, 60)
        assert sorted(u.message_id for u in leased) == ["m-1", "m-2"]  # m-1 again: a duplicate, dropped
        assert relay.queue.count_dead() == 1
        assert relay.metrics.deduplicated.labels("web")._value.get() == 1
        assert relay.metrics.enqueued.labels("amplitude")._value.get() == 2


def test_the_size_check_due_runs_in_a_worker_thread(tmp_path, pg_dsn, monkeypatch):
    with relay_on(tmp_path, pg_dsn) as relay:
        transformed, offloaded = threads_of(relay, monkeypatch)
        asyncio.run(relay.accept(relay.source_for_key("wk-inline-0001"), [dict(TRACK)], []))
        assert offloaded == ["_admit"] and transformed == ["MainThread"]


def test_a_store_over_its_size_refuses_before_transforming(tmp_path, pg_dsn, monkeypatch):
    with relay_on(tmp_path, pg_dsn) as relay:
        relay.config.queue.max_bytes = 1
        transformed, _ = threads_of(relay, monkeypatch)
        with pytest.raises(Unavailable, match="over its limit"):
            asyncio.run(relay.accept(relay.source_for_key("wk-inline-0001"), [dict(TRACK)], []))
        assert transformed == []


def test_with_server_sessions_a_worker_thread_transforms(tmp_path, pg_dsn, monkeypatch):
    with relay_on(tmp_path, pg_dsn, sessions=True) as relay:
        transformed, offloaded = threads_of(relay, monkeypatch)
        asyncio.run(relay.accept(relay.source_for_key("wk-inline-0001"), [dict(TRACK, anonymousId="d1")], []))
        assert offloaded == ["accept_sync"] and transformed and "MainThread" not in transformed
        assert len(relay.queue.lease("w", 10, 60)) == 1
