"""amprelay's session plugin against Segment's, event for event, in Chromium.

Two browser contexts load real analytics-next (from npm) with the same CDN settings except for the
session plugin: one gets Segment's own build (the `amplitude-plugins` action destination of
@segment/browser-destinations, the file Segment's CDN serves, installed as a test-only oracle),
the other amprelay's. Both go through one scripted timeline under a fixed clock (Playwright's
``clock.set_fixed_time``); an `after` plugin records what every event carries, and the two
recordings must be equal.

The npm build of the reference (3.98.0, the only one published) predates session tracking
(`allowSessionTracking`); with tracking on, the test checks amprelay's session events against the
rules of Segment's current source instead (an end and a start event whenever the last access is
past the session length, first visit included, both with the new session's id).
"""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import REFERENCE_WEB
from tests.requirements import require

WRITE_KEY = "oracle-write-key"
T0 = 1_893_456_000_000  # 2030-01-01T00:00:00Z: later than the real clock, or cookies set under it expire at once
MIN = 60_000
SUBSCRIBE = 'type = "track" or type = "identify" or type = "group" or type = "page" or type = "alias"'



def reference_script() -> str:
    entries = sorted(p.name for p in (REFERENCE_WEB / "amplitude-plugins").glob("*.js"))
    require(entries, "the reference plugin is not installed (cd tests/browser && npm install)")
    return f"/ref/amplitude-plugins/{entries[0]}"


def remote_plugin(kind: str, settings: dict) -> dict:
    """The `remotePlugins` entry Segment's CDN settings carry for each plugin."""
    if kind == "reference":
        mapping = {k: v for k, v in settings.items() if k == "sessionLength"}
        return {"name": "Amplitude (Actions)", "creationName": "Actions Amplitude",
                "libraryName": "amplitude-pluginsDestination", "url": reference_script(),
                "settings": {"subscriptions": [{"id": "s1", "name": "Session", "enabled": True,
                                                "partnerAction": "sessionId", "subscribe": SUBSCRIBE,
                                                "mapping": mapping}]}}
    return {"name": "Amplitude (Actions)", "creationName": "Actions Amplitude",
            "libraryName": "amprelayAmplitudeSessionDestination", "url": "/amprelay/amplitude-session.js",
            "settings": settings}


def page_html(base: str, plugin: dict, load_options: dict) -> str:
    cdn = {"integrations": {"Segment.io": {"apiKey": WRITE_KEY, "apiHost": base.split("://", 1)[1] + "/v1",
                                           "protocol": "http"}},
           "remotePlugins": [plugin], "metrics": {"sampleRate": 0}}
    return f"""<!doctype html><html><body>
<script src="/umd/index.js"></script>
<script>
window.recorded = []
function record(ctx) {{
  const e = ctx.event, amp = (e.integrations || {{}})['Actions Amplitude']
  recorded.push([e.type, e.event || e.name || null, amp ? amp.session_id : null])
  return ctx
}}
const recorder = {{ name: 'recorder', type: 'after', version: '1', isLoaded: () => true,
  load: () => Promise.resolve(), track: record, page: record, identify: record, group: record,
  alias: record, screen: record }}
window.analytics = AnalyticsNext.AnalyticsBrowser.load(
  {{ writeKey: '{WRITE_KEY}', cdnSettings: {json.dumps(cdn)}, plugins: [recorder] }}, {json.dumps(load_options)})
window.analytics.then(([a]) => {{ window.ajs = a; window.ready = true }}).catch((e) => {{ window.loadError = String(e) }})
</script></body></html>"""


class Side:
    """One browser context running analytics-next with one of the two plugins."""

    def __init__(self, browser, page_server, kind: str, settings: dict, load_options: dict):
        # by name: analytics.js's cookies are not kept for a bare IP address
        base = page_server.url.replace("127.0.0.1", "localhost")
        page_server.pages[f"/{kind}.html"] = page_html(base, remote_plugin(kind, settings), load_options)
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.url = f"{base}/{kind}.html"
        self.history: list = []  # what earlier page views recorded
        self.page.clock.set_fixed_time(T0 / 1000)
        self.open()

    def open(self) -> None:
        """Load (or reload) the page; what the previous page view recorded is kept."""
        if self.page.url.startswith("http"):
            self.history += self.page.evaluate("recorded")
        self.page.goto(self.url)
        self.page.wait_for_function("window.ready || window.loadError", timeout=20000)
        assert self.page.evaluate("window.loadError || null") is None
        assert self.page.evaluate("ajs.queue.plugins.some(p => p.name === 'Actions Amplitude')"), \
            "the session plugin was not loaded"

    def at(self, ms: int) -> None:
        self.page.clock.set_fixed_time(ms / 1000)  # seconds

    def call(self, js: str) -> None:
        before = self.page.evaluate("recorded.length")
        self.page.evaluate(f"Promise.resolve({js}).then(() => null)")
        self.page.wait_for_function(f"recorded.length > {before}", timeout=10000)

    def settle(self, count: int) -> list:
        """Every event recorded so far, once there are ``count``."""
        self.page.wait_for_function(f"recorded.length >= {count - len(self.history)}", timeout=10000)
        self.page.wait_for_timeout(100)  # anything else on its way would be recorded by now
        return self.history + self.page.evaluate("recorded")

    def stored(self) -> dict:
        return self.page.evaluate("""() => ({
          local: localStorage.getItem('analytics_session_id'),
          cookie: (document.cookie.match(/(?:^|; )analytics_session_id=([^;]*)/) || [])[1] || null })""")

    def clear_storage(self) -> None:
        self.page.evaluate("localStorage.clear()")
        self.context.clear_cookies()


USER_TIMELINE = [
    # (time, call): first visit, within the session, every call type, past the session length,
    # integrations.All false with and without "Actions Amplitude"
    (T0, "ajs.track('First Visit', {button: 'buy'})"),
    (T0 + 5 * MIN, "ajs.page('Docs', 'Pricing')"),
    (T0 + 6 * MIN, "ajs.identify('user-12345', {plan: 'pro'})"),
    (T0 + 7 * MIN, "ajs.group('group-12345')"),
    (T0 + 8 * MIN, "ajs.alias('user-67890')"),
    (T0 + 9 * MIN, "ajs.screen('Home')"),
    (T0 + 40 * MIN, "ajs.track('After A Break')"),
    (T0 + 41 * MIN, "ajs.track('Everything Off', {}, {integrations: {All: false}})"),
    (T0 + 42 * MIN, "ajs.track('Only Amplitude', {}, {integrations: {All: false, 'Actions Amplitude': true}})"),
    (T0 + 43 * MIN, "ajs.track('Amplitude Off', {}, {integrations: {'Actions Amplitude': false}})"),
    (T0 + 80 * MIN, "ajs.track('Off Past The Length', {}, {integrations: {All: false}})"),
    (T0 + 81 * MIN, "ajs.track('Back')"),
]


def run_both(browser, page_server, settings: dict, steps, load_options: dict | None = None,
             between=None) -> tuple[list, list, list[Side]]:
    sides = [Side(browser, page_server, kind, settings, load_options or {}) for kind in ("reference", "amprelay")]
    for index, (at, js) in enumerate(steps):
        for side in sides:
            side.at(at)
            if between is not None:
                between(index, side)
            side.call(js)
    ref = sides[0].settle(len(steps))
    ours = sides[1].settle(len(steps))
    return ref, ours, sides


def close(sides: list[Side]) -> None:
    for side in sides:
        side.context.close()


@pytest.mark.slow
@pytest.mark.parametrize("settings", [{}, {"sessionLength": 2 * MIN}, {"sessionLength": 0}],
                         ids=["default-length", "custom-length", "length-zero"])
def test_same_session_ids_as_the_reference(browser, page_server, settings):
    ref, ours, sides = run_both(browser, page_server, settings, USER_TIMELINE)
    try:
        assert ours == ref
        ids = [r[2] for r in ref]
        assert ids[0] == T0
        assert ids[5] is None  # screen calls are not enriched
        if settings == {}:
            assert ids[:5] == [T0] * 5 and ids[6] == T0 + 40 * MIN
        if settings.get("sessionLength") == 0:
            enriched = [(r[2], at) for r, (at, _) in zip(ref, USER_TIMELINE, strict=True) if r[2] is not None]
            assert all(i == at for i, at in enriched)  # every event starts a session
        assert sides[0].stored() == sides[1].stored()
    finally:
        close(sides)


@pytest.mark.slow
def test_same_as_the_reference_with_cookie_only_storage(browser, page_server):
    options = {"storage": {"stores": ["cookie"]}}
    steps = USER_TIMELINE[:2] + [(T0 + 45 * MIN, "ajs.track('Later')")]
    ref, ours, sides = run_both(browser, page_server, {}, steps, load_options=options)
    try:
        assert ours == ref
        for side in sides:
            assert side.stored() == {"local": None, "cookie": str(T0 + 45 * MIN)}
        # a reload reads the session back from the cookie
        for side in sides:
            side.at(T0 + 50 * MIN)
            side.open()
            side.call("ajs.track('After Reload')")
        assert sides[1].settle(4) == sides[0].settle(4)
        assert sides[0].settle(4)[-1] == ["track", "After Reload", T0 + 45 * MIN]
    finally:
        close(sides)


@pytest.mark.slow
def test_same_as_the_reference_when_storage_is_cleared(browser, page_server):
    steps = [(T0, "ajs.track('a')"), (T0 + MIN, "ajs.track('b')"), (T0 + 2 * MIN, "ajs.track('c')"),
             (T0 + 3 * MIN, "ajs.track('d')")]

    def between(index, side):
        if index == 2:  # cleared under a live page: analytics.js's memory store still has the session
            side.clear_storage()
        if index == 3:  # cleared, then a new page view
            side.clear_storage()
            side.open()

    ref, ours, sides = run_both(browser, page_server, {}, steps, between=between)
    try:
        assert ours == ref
        assert [r[2] for r in ref[:3]] == [T0] * 3
        assert ref[-1] == ["track", "d", T0 + 3 * MIN]
    finally:
        close(sides)


@pytest.mark.slow
def test_without_storage_in_analytics_both_fall_back_to_local_storage(browser, page_server):
    # analytics.js builds before the storage layer have no `analytics.storage`: both plugins use localStorage
    steps = [(T0, "ajs.track('a')"), (T0 + 31 * MIN, "ajs.track('b')")]

    def between(index, side):
        side.page.evaluate("Object.defineProperty(ajs, 'storage', {value: undefined, configurable: true})")

    ref, ours, sides = run_both(browser, page_server, {}, steps, between=between)
    try:
        assert ours == ref == [["track", "a", T0], ["track", "b", T0 + 31 * MIN]]
        for side in sides:
            assert side.stored() == {"local": str(T0 + 31 * MIN), "cookie": None}
    finally:
        close(sides)


@pytest.mark.slow
@pytest.mark.parametrize("correct", [False, True], ids=["as-segment", "correctSessionEnd"])
def test_session_events_with_tracking_on(browser, page_server, correct):
    settings = {"allowSessionTracking": True, "sessionLength": 30 * MIN}
    if correct:
        settings["correctSessionEnd"] = True
    steps = [(T0, "ajs.track('First Visit')"), (T0 + 10 * MIN, "ajs.track('Within')"),
             (T0 + 50 * MIN, "ajs.track('Past')")]
    ref, _, sides = run_both(browser, page_server, settings, steps)
    try:
        expected_user = ref  # the reference (no tracking in its npm build) gives the ids
        new = T0 + 50 * MIN
        if correct:
            session_events = [["track", "session_started", T0], ["track", "session_ended", T0],
                              ["track", "session_started", new]]
        else:  # Segment's current source: end + start on the first visit and on expiry, with the new id
            session_events = [["track", "session_ended", T0], ["track", "session_started", T0],
                              ["track", "session_ended", new], ["track", "session_started", new]]
        ours = sides[1].settle(len(steps) + len(session_events))
        assert [r for r in ours if r[1] not in ("session_started", "session_ended")] == expected_user
        # analytics.js runs events it is handed together through its pipeline concurrently: the
        # order they are recorded in is not the order they were tracked in
        assert sorted(r for r in ours if r[1] in ("session_started", "session_ended")) == sorted(session_events)
        posted = [json.loads(b) for b in page_server.posts]
        sent = [(m["event"], m["integrations"]["Actions Amplitude"]["session_id"])
                for m in posted if m.get("event") in ("session_started", "session_ended")]
        assert sorted(sent) == sorted((r[1], r[2]) for r in session_events)  # and they were sent on
    finally:
        close(sides)
