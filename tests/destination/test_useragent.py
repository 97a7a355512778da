"""UA parsing must give exactly the reference's answers (@amplitude/ua-parser-js 0.7.25)."""

import json
import pathlib

import pytest

from amprelay.destination import useragent
from amprelay.destination.useragent import parse_user_agent, parse_user_agent_properties

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = [json.loads(line) for line in (ROOT / "dev" / "ua_corpus.jsonl").read_text("utf-8").splitlines() if line]

TABLE = [  # BEHAVIORS.md item 10
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
     {"os_name": "Windows", "os_version": "120", "device_model": "Windows"}),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
     {"os_name": "Chromium OS", "os_version": "120", "device_model": "Chromium OS"}),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
     {"os_name": "Windows", "os_version": "11", "device_model": "Windows"}),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) Version/9.0 "
     "Mobile/13B143 Safari/601.1",
     {"os_name": "iOS", "os_version": "9", "device_manufacturer": "Apple", "device_model": "iPhone",
      "device_type": "mobile"}),
    ("Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
     {"os_name": "Android", "os_version": "118", "device_manufacturer": "Samsung", "device_model": "SM-X700",
      "device_type": "mobile"}),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
     {"os_name": "Android", "os_version": "120", "device_model": "K", "device_type": "mobile"}),
    ("Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 "
     "Safari/605.1.15",
     {"os_name": "PlayStation", "os_version": "13", "device_manufacturer": "Sony", "device_model": "PlayStation 5",
      "device_type": "console"}),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
     "[FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/16.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
     {"os_name": "iOS", "device_manufacturer": "Apple", "device_model": "iPhone14,5", "device_type": "mobile"}),
    ("MyApp/1.2.3 (iPhone; iOS 17.0; Scale/3.00)",
     {"device_manufacturer": "Apple", "device_model": "iPhone", "device_type": "mobile"}),
    ("okhttp/4.9.3", {}), ("curl/8.4.0", {}), ("unknown", {}),
]


@pytest.mark.parametrize(("ua", "expected"), TABLE)
def test_behaviors_table(ua, expected):
    got = parse_user_agent_properties(ua)
    assert got == expected
    assert list(got) == [k for k in useragent.KEYS if k in expected]


def test_recorded_corpus_answers_and_key_order():
    bad = []
    for item in CORPUS:
        got = parse_user_agent_properties(item["ua"])
        if got != item["expected"] or list(got) != list(item["expected"]):
            bad.append((item["ua"], item["expected"], got))
    assert not bad, bad[:5]
    assert len(CORPUS) > 5000


def test_recorded_corpus_raw_fields():
    bad = []
    for item in CORPUS:
        raw = {p: {k: v for k, v in f.items() if v is not None} for p, f in parse_user_agent(item["ua"]).items()}
        if raw != item["raw"]:
            bad.append(item["ua"])
    assert not bad, bad[:5]


def test_conformance_expected_bodies():
    """Default-mapping action cases: body UA fields equal our parse (userAgentData coerced like ajv)."""
    conf = ROOT / "tests" / "conformance"
    expected = {}
    for f in (conf / "expected").glob("*.jsonl"):
        for line in f.read_text("utf-8").splitlines():
            r = json.loads(line)
            expected[r["id"]] = r
    checked = 0
    for f in (conf / "cases").glob("*.jsonl"):
        for line in f.read_text("utf-8").splitlines():
            c = json.loads(line)
            if c.get("kind") != "action" or c.get("mapping") is not None:
                continue
            if c["action"] not in ("logEvent", "logEventV2", "logPurchase", "identifyUser"):
                continue
            ctx = (c.get("event") or {}).get("context")
            if not isinstance(ctx, dict) or "os" in ctx or "device" in ctx:
                continue
            ua = ctx.get("userAgent")
            r = expected[c["id"]]
            if not isinstance(ua, str) or not ua or r.get("error") or not r["requests"]:
                continue
            body = r["requests"][0]["body"]
            ev = body["events"][0] if "events" in body else body["identification"]
            if isinstance(ev, list):
                ev = ev[0]
            uad = ctx.get("userAgentData")
            if isinstance(uad, dict):
                uad = {k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                       for k, v in uad.items()}
            want = {k: ev[k] for k in useragent.KEYS if k in ev}
            assert parse_user_agent_properties(ua, uad) == want, c["id"]
            checked += 1
    assert checked >= 70


WIN = TABLE[0][0]


def test_user_agent_data_precedence_and_empty_string():
    assert parse_user_agent_properties(WIN, {"platformVersion": "15.0.0", "model": "Pixel"}) == {
        "os_name": "Windows", "os_version": "15.0.0", "device_model": "Pixel"}
    assert parse_user_agent_properties(WIN, {"platformVersion": "", "model": ""}) == {
        "os_name": "Windows", "os_version": "", "device_model": ""}
    assert parse_user_agent_properties(WIN, {"platformVersion": None, "model": None}) == {
        "os_name": "Windows", "os_version": "120", "device_model": "Windows"}
    assert parse_user_agent_properties("", {"platformVersion": "1"}) == {}
    assert parse_user_agent_properties(None, {"model": "x"}) == {}


def test_cache_is_bounded_lru():
    useragent.cache_clear()
    parse_user_agent_properties(WIN)
    parse_user_agent_properties(WIN, {"model": "Surface"})  # other properties, the same parse
    info = useragent.cache_info()
    assert info.hits == 1 and info.misses == 1 and info.maxsize == useragent.UA_CACHE_SIZE
    first = parse_user_agent_properties(WIN)
    first["os_name"] = "mutated"
    assert parse_user_agent_properties(WIN)["os_name"] == "Windows"


def test_properties_cache_keeps_strings_only_and_is_bounded():
    useragent.cache_clear()
    # 1, 1.0 and true are equal dict keys: none of them may answer for another
    assert parse_user_agent_properties(WIN, {"platformVersion": 1})["os_version"] == 1
    assert parse_user_agent_properties(WIN, {"platformVersion": True})["os_version"] is True
    assert parse_user_agent_properties(WIN, {"model": {"a": 1}})["device_model"] == {"a": 1}
    assert parse_user_agent_properties(WIN, {"platformVersion": "15.0"})["os_version"] == "15.0"
    for i in range(useragent.UA_CACHE_SIZE + 10):
        parse_user_agent_properties(WIN, {"model": f"m{i}"})
    assert len(useragent._PROPERTIES) <= useragent.UA_CACHE_SIZE
