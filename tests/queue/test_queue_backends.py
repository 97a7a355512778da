"""The queue contract on every backend (the ``q`` and ``make_queue`` fixtures run each test on SQLite
and on PostgreSQL): durability, the per-partition ordering contract, leases, dead letters."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from amprelay.store import DeadLetterFilter, NewUnit, RetryItem, UnitRoute, open_queue, sqlite_path
from amprelay.store.sqlite import SQLiteQueue

EVENTS = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                   (("api_key", "k"), ("events", None)))
IDENTIFY = UnitRoute("amp", "POST", "https://api2.amplitude.com/identify", "form", "identification", True,
                     (("api_key", "k"), ("identification", ""), ("options", "undefined")))
OTHER_DEST = UnitRoute("eu", "POST", "https://api.eu.amplitude.com/2/httpapi", "json", "events", False,
                       (("api_key", "k2"), ("events", None)))


def unit(part: str, n: int, route: UnitRoute = EVENTS, created: float = 1000.0) -> NewUnit:
    return NewUnit(route, orjson.dumps({"user_id": part, "n": n}), part, f"m{n}", created)


def ids(leases):
    return [u.id for u in leases]


def test_enqueue_returns_increasing_ids_and_lease_keeps_order(q):
    got = q.enqueue([unit("a", i) for i in range(5)])
    assert got == sorted(got) and len(set(got)) == 5
    leases = q.lease("w", 10, 60, now=2000)
    assert ids(leases) == got
    assert [orjson.loads(u.entry)["n"] for u in leases] == list(range(5))
    assert leases[0].route == EVENTS and leases[0].message_id == "m0"


def test_ack_removes_and_stats(q):
    q.enqueue([unit("a", 1), unit("b", 2, OTHER_DEST, created=900.0)])
    st_ = q.stats(now=1000.0)
    assert st_.depth == 2 and st_.depth_by_destination == {"amp": 1, "eu": 1}
    leases = q.lease("w", 10, 60, now=1000)
    assert q.stats(now=1000).leased == 2
    q.ack(ids(leases))
    st_ = q.stats(now=1000)
    assert st_.depth == 0 and st_.oldest_created_at is None and st_.oldest_age(5) == 0


def test_later_unit_of_a_partition_waits_while_earlier_is_leased(q):
    a = q.enqueue([unit("a", 0), unit("a", 1)])
    b = q.enqueue([unit("b", 2)])
    first = q.lease("w", 1, 60, now=1000)
    assert ids(first) == [a[0]]
    second = q.lease("w", 10, 60, now=1000)
    assert ids(second) == b  # a[1] is behind a leased a[0]
    q.ack(ids(first))
    assert ids(q.lease("w", 10, 60, now=1000)) == [a[1]]


def test_retry_later_blocks_the_partition_but_not_others(q):
    a = q.enqueue([unit("a", 0), unit("a", 1), unit("b", 2)])
    leases = q.lease("w", 1, 60, now=1000)
    q.retry([RetryItem(leases[0].id, not_before=1030, error="Amplitude 503")])
    assert ids(q.lease("w", 10, 60, now=1010)) == [a[2]]
    assert q.lease("w", 10, 60, now=1020) == []
    again = q.lease("w", 10, 60, now=1031)
    assert ids(again) == [a[0], a[1]]
    assert again[0].attempts == 1 and again[0].last_error == "Amplitude 503"


def test_resend_without_counting_an_attempt(q):
    q.enqueue([unit("a", 0)])
    u = q.lease("w", 1, 60, now=1000)[0]
    q.retry([RetryItem(u.id, 1000, None, count_attempt=False)])
    again = q.lease("w", 1, 60, now=1000)[0]
    assert again.id == u.id and again.attempts == 0


def test_a_lease_holds_only_the_leading_run_of_one_route_per_partition(q):
    got = q.enqueue([unit("a", 0), unit("a", 1), unit("a", 2, IDENTIFY), unit("a", 3), unit("b", 4, IDENTIFY)])
    first = q.lease("w", 10, 60, now=1000)
    assert ids(first) == [got[0], got[1], got[4]]
    q.ack(ids(first))
    second = q.lease("w", 10, 60, now=1000)
    assert ids(second) == [got[2]]
    q.ack(ids(second))
    assert ids(q.lease("w", 10, 60, now=1000)) == [got[3]]


def test_a_lease_reads_past_the_runs_it_leaves_for_later(q):
    """The runs a lease leaves out (a partition's units after its route changes) do not keep it
    from filling with the units behind them (a backend reading its scan in chunks reads on)."""
    lead = q.enqueue([unit("a", 0)])
    q.enqueue([unit("a", i, IDENTIFY) for i in range(1, 1200)])
    others = q.enqueue([unit(f"u{i}", i) for i in range(20)])
    got = q.lease("w", 10, 60, now=1000)
    assert ids(got) == lead + others[:9]


def test_expired_lease_returns_units_and_release_takes_them_back(q):
    got = q.enqueue([unit("a", 0), unit("b", 1)])
    assert ids(q.lease("w", 1, 10, now=1000)) == [got[0]]
    assert ids(q.lease("w", 10, 10, now=1005)) == [got[1]]
    assert ids(q.lease("w", 10, 10, now=1016)) == got  # both leases expired
    assert q.release("w") == 2
    assert q.release("w") == 0
    assert ids(q.lease("other", 10, 10, now=1016)) == got


def test_dead_letters_list_filter_requeue_purge(q):
    got = q.enqueue([unit("a", 0), unit("b", 1, IDENTIFY), unit("c", 2, OTHER_DEST)])
    q.lease("w", 10, 60, now=1000)
    q.dead_letter([(got[0], "Amplitude 400: time (invalid)"), (got[1], "Amplitude 413: too large")], now=2000)
    q.dead_letter([(got[2], "undelivered after 24h")], now=3000)
    assert q.stats().depth == 0 and q.stats().dead_letters == 3
    assert q.count_dead() == 3
    assert [d.message_id for d in q.list_dead(DeadLetterFilter(destination="amp"))] == ["m0", "m1"]
    assert [d.message_id for d in q.list_dead(DeadLetterFilter(kind="identify"))] == ["m1"]
    assert [d.message_id for d in q.list_dead(DeadLetterFilter(reason_contains="INVALID"))] == ["m0"]
    assert [d.message_id for d in q.list_dead(DeadLetterFilter(since=2500))] == ["m2"]
    assert [d.message_id for d in q.list_dead(DeadLetterFilter(until=2500, partition="b"))] == ["m1"]
    d0 = q.list_dead(DeadLetterFilter(message_id="m0"))[0]
    assert d0.attempts == 1 and d0.dead_at == 2000 and orjson.loads(d0.entry) == {"user_id": "a", "n": 0}
    assert q.requeue_dead(DeadLetterFilter(destination="amp"), now=5000) == 2
    back = q.lease("w", 10, 60, now=5000)
    assert [u.message_id for u in back] == ["m0", "m1"] and back[0].created_at == 5000
    assert q.purge_dead(DeadLetterFilter(ids=(99999,))) == 0
    assert q.purge_dead() == 1 and q.count_dead() == 0


def test_concurrent_enqueues_are_group_committed_without_losing_any(q):
    results: list[list[int]] = []

    def worker(t: int) -> None:
        for i in range(50):
            results.append(q.enqueue([unit(f"t{t}", i), unit(f"t{t}", i + 1000)]))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_ids = [i for r in results for i in r]
    assert len(all_ids) == 800 and len(set(all_ids)) == 800
    leased = q.lease("w", 10_000, 60, now=1000)
    assert sorted(ids(leased)) == sorted(all_ids)
    by_part: dict[str, list[int]] = {}
    for u in leased:
        by_part.setdefault(u.partition, []).append(orjson.loads(u.entry)["n"])
    for ns in by_part.values():  # each thread's units in its enqueue order
        assert ns == sorted(ns, key=lambda n: (n % 1000, n))


def test_enqueue_is_durable_when_the_process_is_killed_right_after(tmp_path):
    path = tmp_path / "q.sqlite3"
    code = textwrap.dedent(f"""
        import orjson, sys
        from amprelay.store.sqlite import SQLiteQueue
        from amprelay.store import NewUnit, UnitRoute
        r = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False,
                      (("api_key", "k"), ("events", None)))
        q = SQLiteQueue({str(path)!r})
        for i in range(20):
            q.enqueue([NewUnit(r, orjson.dumps({{"i": i}}), "p", f"m{{i}}", 1.0)])
            print(i, flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stdin=subprocess.PIPE)
    acked = []
    for line in proc.stdout:
        acked.append(int(line))
        if len(acked) == 20:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    q = SQLiteQueue(path)
    assert q.stats().depth == 20
    assert [orjson.loads(u.entry)["i"] for u in q.lease("w", 100, 60)] == list(range(20))
    q.close()


def test_open_queue_defaults_to_sqlite_in_the_data_dir(tmp_path):
    assert sqlite_path(None, tmp_path) == tmp_path / "amprelay.sqlite3"
    q = open_queue(None, tmp_path)
    try:
        assert isinstance(q, SQLiteQueue)
        assert (tmp_path / "amprelay.sqlite3").exists()
        assert q._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        q.close()


# -- the ordering contract under arbitrary interleavings ------------------------------------------

ops = st.lists(
    st.tuples(st.sampled_from(["enqueue", "lease", "tick"]), st.integers(0, 5), st.integers(1, 6),
              st.lists(st.sampled_from(["ack", "retry", "dead", "keep"]), min_size=6, max_size=6)),
    min_size=1, max_size=40,
)


# A lease held past its expiry settled after another lease took its unit (found on SQLite): the
# stale settlement must change nothing, or the unit finishes twice.
EXPIRED_LEASE_SETTLED_LATE = [('enqueue', 0, 4, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 3, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 5, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 2, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 2, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 4, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 5, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('lease', 1, 2, ['keep', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 1, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 3, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 4, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('tick', 5, 6, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 4, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 3, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('tick', 5, 3, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 5, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('enqueue', 0, 6, ['ack', 'ack', 'ack', 'ack', 'ack', 'ack']),
     ('tick', 3, 3, ['ack', 'ack', 'keep', 'keep', 'ack', 'keep']),
     ('lease', 3, 5, ['keep', 'ack', 'ack', 'keep', 'retry', 'retry']),
     ('enqueue', 4, 1, ['retry', 'retry', 'ack', 'ack', 'keep', 'dead']),
     ('enqueue', 4, 1, ['ack', 'dead', 'dead', 'retry', 'ack', 'ack']),
     ('lease', 3, 2, ['retry', 'retry', 'ack', 'ack', 'keep', 'retry']),
     ('lease', 3, 1, ['retry', 'retry', 'ack', 'retry', 'retry', 'dead']),
     ('enqueue', 5, 3, ['keep', 'retry', 'ack', 'retry', 'keep', 'keep']),
     ('tick', 5, 2, ['keep', 'keep', 'keep', 'keep', 'keep', 'ack']),
     ('enqueue', 5, 4, ['retry', 'keep', 'ack', 'dead', 'ack', 'ack']),
     ('enqueue', 2, 6, ['ack', 'keep', 'ack', 'ack', 'ack', 'ack']),
     ('lease', 1, 3, ['ack', 'keep', 'keep', 'retry', 'keep', 'dead']),
     ('tick', 4, 1, ['dead', 'retry', 'ack', 'keep', 'keep', 'dead']),
     ('lease', 2, 2, ['dead', 'retry', 'dead', 'dead', 'dead', 'ack']),
     ('tick', 2, 2, ['dead', 'retry', 'retry', 'retry', 'ack', 'ack']),
     ('enqueue', 1, 3, ['retry', 'ack', 'dead', 'retry', 'dead', 'ack']),
     ('enqueue', 2, 3, ['dead', 'retry', 'ack', 'keep', 'ack', 'dead']),
     ('tick', 0, 5, ['ack', 'ack', 'ack', 'ack', 'keep', 'keep']),
     ('enqueue', 2, 4, ['keep', 'dead', 'keep', 'retry', 'dead', 'retry'])]


# Found on both backends: a user's units 1-3 leased, the lease expires, unit 1 alone is leased
# again, then the old round's settlement arrives. It acks 2 and 3 (still its own) and is stale for
# 1, which the newer lease finishes after them: the old round sent 1-3 in order, so nothing was
# reordered for Amplitude, and each unit finished once.
OLD_ROUND_ACKS_AFTER_EARLIER_UNIT_RELEASED = [
    ('enqueue', 0, 1, ['ack'] * 6),
    ('enqueue', 0, 1, ['ack'] * 6),
    ('enqueue', 0, 1, ['ack'] * 6),
    ('lease', 1, 3, ['keep', 'ack', 'ack', 'ack', 'ack', 'ack']),
    ('tick', 21, 1, ['ack'] * 6),
    ('lease', 0, 1, ['keep', 'ack', 'ack', 'ack', 'ack', 'ack']),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops)
@example(EXPIRED_LEASE_SETTLED_LATE)
@example(OLD_ROUND_ACKS_AFTER_EARLIER_UNIT_RELEASED)
def test_each_partition_is_acked_in_enqueue_order(make_queue, script):
    with contextlib.closing(make_queue()) as q:
        check_partition_order(q, script)


def check_partition_order(q, script) -> None:
    """The model, as Amplitude sees it: per partition, units are first delivered (sent in a round
    whose answer acks or dead-letters them) in enqueue order, a round's units at the time it was
    leased (the worker sends right after leasing); and each unit finishes in the queue exactly
    once. A settlement from a lease that expired and whose unit another lease took since is fenced:
    the queue reports that unit stale and finishes it only once, through the newer lease. The
    expired lease's other units were sent in order by its round, so acking them is right even
    when the re-leased earlier unit finishes after them (its resend is a duplicate Amplitude drops
    by insert_id)."""
    now = 1000.0
    enqueued: dict[str, list[int]] = {}
    finished: dict[str, list[int]] = {}  # finished in the queue (acked or dead-lettered), in that order
    delivered: dict[str, list[int]] = {}  # first delivery per unit, in the order rounds were leased
    held: list = []
    n = 0
    routes = [EVENTS, IDENTIFY]

    def outcomes(leases, choices):
        """The round's answer per unit, as the worker decides it, and its deliveries."""
        stopped: set[str] = set()  # like the worker: after a retry, later units of the partition wait
        answers = []
        for u, choice in zip(leases, (choices * 100)[: len(leases)], strict=True):
            if u.partition in stopped or choice == "retry":
                stopped.add(u.partition)
                answers.append((u, "retry"))
                continue
            answers.append((u, choice if choice == "dead" else "ack"))
            if u.id not in delivered.setdefault(u.partition, []):
                delivered[u.partition].append(u.id)
        return answers

    def settle(leases, answers):
        acks, retries, deads, done = [], [], [], []
        for u, answer in answers:
            if answer == "retry":
                retries.append(RetryItem(u.id, now + 5, "x"))
            elif answer == "dead":
                deads.append((u.id, "bad"))
                done.append(u)
            else:
                acks.append(u.id)
                done.append(u)
        stale = set(q.settle(acks, retries, deads, now=now, tokens={u.id: u.token for u in leases}))
        for u in done:
            if u.id not in stale:
                finished.setdefault(u.partition, []).append(u.id)

    for op, a, b, choices in script:
        if op == "enqueue":
            units = [unit(f"p{(a + k) % 3}", n + k, routes[(a * k) % 2]) for k in range(b)]
            n += b
            for u, i in zip(units, q.enqueue(units), strict=True):
                enqueued.setdefault(u.partition, []).append(i)
        elif op == "lease":
            leases = q.lease("w", b, 60, now=now)
            answers = outcomes(leases, choices)
            if choices[0] == "keep":
                held.append((leases, answers))
            else:
                settle(leases, answers)
            if a == 0 and held:
                settle(*held.pop(0))
        else:
            now += a * 3
    for h in held:
        settle(*h)
    for _ in range(200):
        now += 10
        leases = q.lease("w", 1000, 60, now=now)
        if not leases and q.stats().depth == 0:
            break
        settle(leases, outcomes(leases, ["ack"]))
    assert delivered == enqueued
    assert {p: sorted(v) for p, v in finished.items()} == enqueued
    assert all(len(v) == len(set(v)) for v in finished.values())


def test_enqueue_with_dead_stores_both_in_one_go_and_rejected_ones_are_not_requeued(q):
    rejected = UnitRoute("source:web", "REJECTED", "amprelay:invalid_message", "json", "message", True, ())
    assert rejected.kind == "rejected"
    got = q.enqueue_with_dead([unit("a", 0)], [(NewUnit(rejected, b'{"type":"nope"}', "rejected", "m9", 5.0),
                                                "invalid message at index 0: no type")])
    assert len(got) == 1 and q.stats().depth == 1
    [d] = q.list_dead(DeadLetterFilter(kind="rejected"))
    assert d.reason.startswith("invalid message") and d.destination == "source:web"
    assert q.requeue_dead() == 0 and q.count_dead() == 1
    assert q.size_bytes() > 0


def test_a_waiting_backlog_does_not_hide_other_partitions(q):
    q.enqueue([unit("heavy", i) for i in range(12_000)])
    others = q.enqueue([unit(f"u{i}", i) for i in range(5)])
    first = q.lease("w", 1, 60, now=1000)
    q.retry([RetryItem(first[0].id, not_before=2000, error="429")])
    got = q.lease("w", 100, 60, now=1000)
    assert ids(got) == others  # beyond the scan window, behind 11,999 blocked units


def test_a_partition_that_failed_goes_out_in_smaller_runs(q):
    q.enqueue([unit("p", i) for i in range(300)])
    leases = q.lease("w", 1000, 60, now=1000)
    assert len(leases) == 300
    q.retry([RetryItem(u.id, 1000, "429") for u in leases])  # attempts 1 -> runs of 250
    assert len(q.lease("w", 1000, 60, now=1000)) == 250
    q.release("w")
    for _ in range(2):
        q.retry([RetryItem(u.id, 1000, "429") for u in leases])
    assert len(q.lease("w", 1000, 60, now=1000)) == 15  # attempts 3


def test_a_stale_settlement_changes_nothing_and_is_reported(q):
    [a] = q.enqueue([unit("a", 0)])
    [old] = q.lease("w1", 10, 10, now=1000)
    [new] = q.lease("w1", 10, 10, now=1011)  # the first lease expired; the unit is leased again
    assert old.id == new.id == a and old.token != new.token
    assert q.settle(ack=[a], tokens={a: old.token}, now=1012) == [a]  # fenced
    assert q.stats().depth == 1
    assert q.settle(retry=[RetryItem(a, 1013, "x")], tokens={a: new.token}, now=1012) == []
    again = q.lease("w1", 10, 60, now=1014)
    assert ids(again) == [a] and again[0].attempts == 1
    assert q.settle(dead=[(a, "old")], tokens={a: new.token}, now=1015) == [a]  # an older lease's again
    assert q.settle(ack=[a], tokens={a: again[0].token}, now=1015) == []
    assert q.stats().depth == 0 and q.count_dead() == 0
    assert q.settle(ack=[a], tokens={a: again[0].token}, now=1016) == [a]  # settled already


def test_closed_postgres_queues_release_their_connections(tmp_path):
    from tests.helpers.postgres import PgSchemas, pg_available
    from tests.requirements import require

    require(pg_available(), "PostgreSQL is not reachable")
    import psycopg

    from amprelay.store.postgres import PostgresQueue

    schemas = PgSchemas()
    try:
        dsn = schemas.dsn()
        name = schemas.created[-1]
        for i in range(30):
            with contextlib.closing(PostgresQueue(dsn)) as pq:
                pq.enqueue([unit("a", i)])
                pq.lease("w", 10, 60)
        from tests.helpers.relay import wait_for

        def left() -> int:  # a closed client's backend process exits a moment later
            with psycopg.connect(dsn) as c:
                return c.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                                 "AND pid <> pg_backend_pid()", (name,)).fetchone()[0]

        wait_for(lambda: left() == 0, timeout=10, interval=0.1)
    finally:
        schemas.drop()
