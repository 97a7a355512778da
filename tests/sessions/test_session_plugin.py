"""The browser session plugin's logic under Node (fake clock and storage). The real-browser
test is tests/browser/test_session_browser.py."""

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from tests.requirements import require

NODE = shutil.which("node")
PLUGIN = str(resources.files("amprelay.server").joinpath("static/amplitude-session.js"))
HARNESS = str(Path(__file__).with_name("plugin_harness.js"))
T0 = 1_704_067_200_000
MIN = 60_000


def run(steps, store=None, **options):
    require(NODE, "node is not installed (needed to run the session plugin's logic)")
    script = {"start": T0, "options": options, "steps": steps, "store": store or {}}
    res = subprocess.run([NODE, HARNESS, PLUGIN, json.dumps(script)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def track(name, **extra):
    return {"event": {"type": "track", "event": name, **extra}}


def test_session_id_is_start_time_and_is_kept_in_local_storage():
    r = run([track("a"), {"wait": 5 * MIN, **track("b")}])
    assert [o["session_id"] for o in r["out"]] == [T0, T0]
    assert r["store"] == {"analytics_session_id": str(T0), "analytics_session_id.last_access": str(T0 + 5 * MIN)}
    assert r["sent"] == []  # session tracking is off by default


def test_new_session_after_the_session_length_of_inactivity():
    r = run([track("a"), {"wait": 30 * MIN, **track("b")}, {"wait": 29 * MIN, **track("c")}])
    assert [o["session_id"] for o in r["out"]] == [T0, T0 + 30 * MIN, T0 + 30 * MIN]


def test_custom_session_length():
    r = run([track("a"), {"wait": 2000, **track("b")}], sessionLength=1000)
    assert [o["session_id"] for o in r["out"]] == [T0, T0 + 2000]


def test_start_and_end_events_as_segments_plugin_sends_them():
    # Segment's plugin: an end event whenever the last access is past the session length (a first
    # visit has none, so it ends "a session" too), then a start event; both carry the new session's id.
    r = run([track("a"), {"wait": 5 * MIN, **track("b")}, {"wait": 31 * MIN, **track("c")}],
            allowSessionTracking=True)
    assert r["sent"] == ["session_ended", "session_started", "session_ended", "session_started"]
    generated = [(o["event"], o["session_id"]) for o in r["out"] if o.get("generated")]
    assert generated == [("session_ended", T0), ("session_started", T0),
                         ("session_ended", T0 + 36 * MIN), ("session_started", T0 + 36 * MIN)]


def test_correct_session_end_option_ends_the_old_session_only():
    r = run([track("a"), {"wait": 31 * MIN, **track("b")}], allowSessionTracking=True, correctSessionEnd=True)
    assert r["sent"] == ["session_started", "session_ended", "session_started"]
    generated = [(o["event"], o["session_id"]) for o in r["out"] if o.get("generated")]
    assert generated == [("session_started", T0), ("session_ended", T0), ("session_started", T0 + 31 * MIN)]


def test_session_length_zero_starts_a_session_on_every_event():
    r = run([track("a"), {"wait": 1, **track("b")}, track("c")], sessionLength=0)
    assert [o["session_id"] for o in r["out"]] == [T0, T0 + 1, T0 + 1]
    assert r["store"]["analytics_session_id"] == str(T0 + 1)


def test_session_length_zero_with_tracking_does_not_loop():
    # Segment's plugin would track session events for its own session events forever here
    r = run([track("a")], sessionLength=0, allowSessionTracking=True)
    assert r["sent"] == ["session_ended", "session_started"]
    assert [o["session_id"] for o in r["out"]] == [T0, T0, T0]


def test_absent_session_length_is_thirty_minutes():
    r = run([track("a"), {"wait": 30 * MIN - 1, **track("b")}], sessionLength=None)
    assert [o["session_id"] for o in r["out"]] == [T0, T0]


def test_custom_event_names():
    r = run([track("a")], allowSessionTracking=True, sessionStartEvent="Session Start", sessionEndEvent="Session End")
    assert r["sent"] == ["Session End", "Session Start"]


def test_excluded_events_are_not_touched_unless_amplitude_is_enabled():
    r = run([
        track("excluded", integrations={"All": False}),
        track("included", integrations={"All": False, "Actions Amplitude": True}),
    ])
    assert r["out"][0]["session_id"] is None
    assert r["out"][1]["session_id"] == T0


def test_every_subscribed_call_type_carries_the_session():
    steps = [{"event": {"type": t, "userId": "u1"}} for t in ("identify", "page", "group", "alias")]
    r = run(steps)
    assert [o["session_id"] for o in r["out"]] == [T0] * 4


def test_screen_calls_are_not_enriched():
    # Segment's subscription: type = "track" or "identify" or "group" or "page" or "alias"
    r = run([{"event": {"type": "screen", "name": "Home"}}, track("a")])
    assert r["out"][0]["session_id"] is None
    assert r["store"]["analytics_session_id.last_access"] == str(T0)


@pytest.mark.parametrize("stored", ["not-a-number", ""])
def test_corrupt_storage_starts_a_new_session(stored):
    r = run([track("a")], store={"analytics_session_id": stored, "analytics_session_id.last_access": str(T0)})
    assert r["out"][0]["session_id"] == T0


def test_a_reload_keeps_the_session_from_storage():
    # what a reload leaves behind: the stored id and last access of a live session
    stored = {"analytics_session_id": str(T0 - 5 * MIN), "analytics_session_id.last_access": str(T0 - MIN)}
    r = run([track("after reload")], store=stored)
    assert r["out"][0]["session_id"] == T0 - 5 * MIN
