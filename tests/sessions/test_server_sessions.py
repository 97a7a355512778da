from hypothesis import given
from hypothesis import strategies as st

from amprelay.sessions import (
    Session,
    apply_server_session,
    assign,
    event_time_ms,
    session_key,
)
from amprelay.store.sessions import SessionStore

GAP = 30 * 60_000
T0 = 1_704_067_200_000


def run(times, gap=GAP):
    sessions = ()
    out = []
    for t in times:
        sid, sessions = assign(sessions, t, gap)
        out.append(sid)
    return out, sessions


def test_in_order_events_split_on_the_inactivity_gap():
    ids, _ = run([T0, T0 + 60_000, T0 + 29 * 60_000, T0 + 29 * 60_000 + GAP, T0 + 29 * 60_000 + GAP + 1])
    assert ids == [T0, T0, T0, T0 + 29 * 60_000 + GAP, T0 + 29 * 60_000 + GAP]


def test_exactly_the_gap_starts_a_new_session():
    ids, _ = run([T0, T0 + GAP])
    assert ids == [T0, T0 + GAP]


def test_late_event_inside_a_past_session_joins_it():
    ids, sessions = run([T0, T0 + 10 * 60_000, T0 + 3 * 3600_000, T0 + 5 * 60_000])
    assert ids == [T0, T0, T0 + 3 * 3600_000, T0]
    assert sessions[-1] == Session(T0 + 3 * 3600_000, T0 + 3 * 3600_000)


def test_late_event_just_before_a_session_joins_it_and_keeps_its_id():
    ids, _ = run([T0, T0 - 10 * 60_000])
    assert ids == [T0, T0]


def test_event_older_than_everything_remembered_gets_its_own_session():
    ids, sessions = run([T0, T0 - 5 * 3600_000])
    assert ids == [T0, T0 - 5 * 3600_000]
    assert [s.start for s in sessions] == [T0 - 5 * 3600_000, T0]


@given(st.lists(st.integers(min_value=0, max_value=10 * 3600_000), min_size=1, max_size=40))
def test_replaying_the_same_events_gives_the_same_ids(offsets):
    times = [T0 + o for o in offsets]
    first, state = run(times)
    again = []
    for t in times:
        sid, state = assign(state, t, GAP)
        again.append(sid)
    assert again == first


@given(st.lists(st.integers(min_value=0, max_value=10 * 3600_000), min_size=1, max_size=40))
def test_in_order_streams_match_the_classic_definition(offsets):
    times = sorted(T0 + o for o in offsets)
    ids, _ = run(times)
    expected, start, last = [], None, None
    for t in times:
        if start is None or t - last >= GAP:
            start = t
        last = t
        expected.append(start)
    assert ids == expected


def test_keys_and_times_from_messages():
    assert session_key({"context": {"device": {"id": "dev1"}}, "anonymousId": "a", "userId": "u"}) == "d:dev1"
    assert session_key({"anonymousId": "a", "userId": "u"}) == "a:a"
    assert session_key({"userId": "u"}) == "u:u"
    assert session_key({}) is None
    assert event_time_ms({"timestamp": "2024-01-01T00:00:00.000Z"}) == T0
    assert event_time_ms({"receivedAt": "2024-01-01T00:00:01Z"}) == T0 + 1000


def test_store_survives_a_restart_without_splitting_sessions(tmp_path):
    path = str(tmp_path / "q.sqlite3")
    store = SessionStore(path)
    msg = {"type": "track", "event": "a", "anonymousId": "anon1", "timestamp": "2024-01-01T00:00:00Z"}
    first = apply_server_session(store, "amp", msg, GAP, 0)
    assert first["integrations"]["Actions Amplitude"]["session_id"] == T0
    store.close()
    store = SessionStore(path)  # a restart: state comes back from disk
    later = apply_server_session(store, "amp", {**msg, "timestamp": "2024-01-01T00:10:00Z"}, GAP, 0)
    assert later["integrations"]["Actions Amplitude"]["session_id"] == T0
    store.close()


def test_events_with_a_session_id_are_left_alone(tmp_path):
    store = SessionStore(str(tmp_path / "q.sqlite3"))
    msg = {"type": "track", "event": "a", "userId": "u1", "integrations": {"Actions Amplitude": {"session_id": 5}}}
    assert apply_server_session(store, "amp", msg, GAP, T0) is msg
    no_key = {"type": "track", "event": "a"}
    assert apply_server_session(store, "amp", no_key, GAP, T0) is no_key
