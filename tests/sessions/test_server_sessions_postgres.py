"""Server-side sessions on PostgreSQL: the state is shared by every relay on the database."""

from __future__ import annotations

import random
import threading

import httpx
import pytest

from amprelay.sessions import apply_server_session, assign_in
from amprelay.store.postgres import PostgresQueue
from amprelay.store.sessions import PostgresSessionStore, SessionStore, SessionStoreUnavailable
from tests.helpers.postgres import PG_DSN, PgSchemas, pg_available
from tests.helpers.relay import WRITE_KEY, relay_config, wait_for
from tests.requirements import require

GAP = 30 * 60_000
T0 = 1_704_067_200_000


@pytest.fixture
def dsn():
    require(pg_available(), f"PostgreSQL is not reachable at {PG_DSN}")
    schemas = PgSchemas()
    dsn = schemas.dsn()
    PostgresQueue(dsn).close()  # the queue's migrations create the sessions table
    yield dsn
    schemas.drop()


def test_same_answers_as_the_sqlite_store(dsn, tmp_path):
    rnd = random.Random(7)
    events = [(f"d:{rnd.randrange(5)}", T0 + rnd.randrange(0, 6 * 3600_000)) for _ in range(300)]
    pg, lite = PostgresSessionStore(dsn), SessionStore(str(tmp_path / "s.sqlite3"))
    try:
        assert [assign_in(pg, k, t, GAP) for k, t in events] == [assign_in(lite, k, t, GAP) for k, t in events]
    finally:
        pg.close()
        lite.close()


def test_relays_assigning_at_the_same_time_agree(dsn):
    """Two stores (two relays) and four threads each, one device, events 1 minute apart in one
    session: every event gets the id of the first one, whichever relay saw it."""
    stores = [PostgresSessionStore(dsn), PostgresSessionStore(dsn)]
    times = [T0 + i * 60_000 for i in range(25)]  # 25 minutes: one session
    ids: list[int] = []
    lock = threading.Lock()

    def worker(store, mine):
        for t in mine:
            sid = assign_in(store, "amp|d:device-1", t, GAP)
            with lock:
                ids.append(sid)

    chunks = [times[i::8] for i in range(8)]
    threads = [threading.Thread(target=worker, args=(stores[i % 2], chunk)) for i, chunk in enumerate(chunks)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for s in stores:
        s.close()
    assert len(ids) == 25
    # Whatever order they arrived in, the events form one session (a late earlier event joins it).
    assert len(set(ids)) == 1 and ids[0] >= T0


def test_an_unreachable_database_is_an_error_to_retry():
    store = PostgresSessionStore("postgresql://nobody@127.0.0.1:1/none", connect_timeout=1)
    with pytest.raises(SessionStoreUnavailable):
        apply_server_session(store, "amp", {"type": "track", "event": "a", "userId": "u1"}, GAP, T0)


def test_two_postgres_relays_share_one_session(dsn, tmp_path, fake, start_relay):
    """A device's events alternate between two relays on one database: one session id in Amplitude."""
    extra = f'queue: {{backend: postgres, dsn: "{dsn}"}}'
    relays = []
    for i in range(2):
        cfg = relay_config(tmp_path / f"data{i}", fake.url, extra=extra)
        cfg.destinations[0].server_sessions.enabled = True
        relays.append(start_relay(config=cfg))
    for i in range(6):
        r = httpx.post(relays[i % 2].url + "/v1/track", auth=(WRITE_KEY, ""), json={
            "event": f"Step {i}", "userId": "user-sessions-1", "context": {"device": {"id": "device-shared-1"}},
            "timestamp": f"2024-01-01T00:0{i}:00.000Z"})
        assert r.status_code == 200
    got = wait_for(lambda: len(fake.events()) >= 6 and fake.events())
    assert {e["data"]["session_id"] for e in got} == {T0}
