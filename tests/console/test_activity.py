"""The console's activity record: per-minute counts, live events and their outcomes."""

from __future__ import annotations

from amprelay.console.activity import Activity
from amprelay.store.base import Lease, UnitRoute

ROUTE = UnitRoute("amp", "POST", "https://api2.amplitude.com/2/httpapi", "json", "events", False, ())
T0 = 1_700_000_000.0  # a whole minute: 1_700_000_000 / 60 is not whole, so use minute math below


def lease(i: int, mid: str, route: UnitRoute = ROUTE) -> Lease:
    return Lease(i, route, b"{}", "user", mid, T0)


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_counts_per_destination_over_hour_and_day():
    clock = Clock(T0)
    a = Activity(clock=clock)
    a.on_message("web", {"messageId": "m1", "type": "track", "event": "A"}, "amp", [("Track", "logEventV2", 1, None)], T0)
    a.on_message("web", {"messageId": "m2", "type": "page"}, "amp", [], T0)  # filtered
    a.on_settled([(lease(1, "m1"), "delivered", "")], T0 + 1)
    clock.t = T0 + 2 * 3600  # two hours later: out of the last hour, still in the day
    a.on_message("web", {"messageId": "m3", "type": "track", "event": "B"}, "amp", [("Track", "logEventV2", 1, None)],
                 clock.t)
    a.on_settled([(lease(2, "m3"), "retrying", "503"), (lease(3, "x"), "dead", "400 invalid")], clock.t)
    assert a.totals("amp", 3600) == {"received": 1, "filtered": 0, "delivered": 0, "retrying": 1, "dead": 1}
    assert a.totals("amp", 86400) == {"received": 3, "filtered": 1, "delivered": 1, "retrying": 1, "dead": 1}
    assert a.destinations() == ["amp"]


def test_series_buckets_end_now_and_sum_to_the_totals():
    clock = Clock(T0)
    a = Activity(clock=clock)
    for k in range(120):  # one event a minute for two hours
        t = T0 - k * 60
        a.on_message("web", {"messageId": f"m{k}", "type": "track", "event": "E"}, "amp", [("S", "logEvent", 1, None)], t)
    hour = a.series("amp", 60, 1)
    assert len(hour) == 60 and all(c["received"] == 1 for _, c in hour)
    assert hour[-1][0] == int(T0 // 60)
    day = a.series("amp", 24, 60)
    assert sum(c["received"] for _, c in day) == 120 == a.totals("amp", 86400)["received"]


def test_counts_older_than_a_day_are_dropped():
    clock = Clock(T0)
    a = Activity(clock=clock)
    a.on_message("web", {"messageId": "old"}, "amp", [], T0)
    clock.t = T0 + 86400 + 120
    a.on_message("web", {"messageId": "new"}, "amp", [], clock.t)
    assert a.totals("amp", 10 * 86400)["received"] == 1


def test_live_event_outcome_follows_delivery():
    a = Activity(clock=Clock(T0))
    msg = {"messageId": "m1", "type": "track", "event": "Played", "userId": "u1"}
    a.on_message("web", msg, "amp", [("Track Calls", "logEventV2", 2, None)], T0)
    ev = a.find("m1")
    assert (ev.summary, ev.user, ev.status) == ("track Played", "u1", "queued")
    seq = a.seq
    a.on_answer("amp", ROUTE.url, 503, "Service Unavailable", 2, [lease(1, "m1"), lease(2, "m1")], T0)
    a.on_settled([(lease(1, "m1"), "retrying", "503"), (lease(2, "m1"), "retrying", "503")], T0)
    assert ev.status == "retrying" and ev.destinations["amp"].answer == "503: Service Unavailable"
    assert a.live(after=seq)[0] is ev  # changed since seq
    a.on_answer("amp", ROUTE.url, 200, "", 2, [lease(1, "m1"), lease(2, "m1")], T0)
    a.on_settled([(lease(1, "m1"), "delivered", "")], T0)
    assert ev.status == "retrying"  # one unit still waits
    a.on_settled([(lease(2, "m1"), "delivered", "")], T0)
    assert ev.status == "delivered" and ev.destinations["amp"].answer == "200"
    assert [e.error for e in a.errors] == ["Service Unavailable"]


def test_live_statuses_for_filtered_rejected_mapping_error_and_dead():
    a = Activity(clock=Clock(T0))
    a.on_message("web", {"messageId": "f"}, "amp", [], T0)
    a.on_rejected("web", {"type": "track"}, "a track message needs 'event'", T0)
    a.on_message("web", {"messageId": "e"}, "amp", [("S", "logEvent", 0, "Event Type is missing")], T0)
    a.on_message("web", {"messageId": "d"}, "amp", [("S", "logEvent", 1, None)], T0)
    a.on_settled([(lease(9, "d"), "dead", "400 silenced")], T0)
    statuses = {e.message_id or "rejected": e.status for e in a.live()}
    assert statuses == {"f": "filtered", "rejected": "rejected", "e": "mapping error", "d": "dead-lettered"}
    assert a.find("d").destinations["amp"].reason == "400 silenced"


def test_live_keeps_only_the_latest():
    a = Activity(clock=Clock(T0), live_events=10)
    for i in range(25):
        a.on_message("web", {"messageId": f"m{i}"}, "amp", [], T0)
    ids = [e.message_id for e in a.live()]
    assert ids == [f"m{i}" for i in range(24, 14, -1)]
    assert a.find("m3") is None


def test_counts_survive_a_restart(tmp_path):
    path = tmp_path / "activity.json"
    a = Activity(path, clock=Clock(T0))
    a.on_message("web", {"messageId": "m1"}, "amp", [("S", "logEvent", 1, None)], T0)
    a.save()
    b = Activity(path, clock=Clock(T0 + 60))
    assert b.totals("amp", 3600)["received"] == 1
    path.write_bytes(b"{not json")
    assert Activity(path, clock=Clock(T0)).destinations() == []  # a damaged file costs only history
