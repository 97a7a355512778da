"""User-agent parsing gives @amplitude/ua-parser-js 0.7.25's answers (the reference's).

data/ua_reference.jsonl holds 800 real-world user agents with the properties the reference's
parseUserAgentProperties returned for them (recorded with dev/ua_oracle.js; re-record with the
commands in its header)."""

import json
from pathlib import Path

import pytest

from amprelay.destination.useragent import UA_CACHE_SIZE, cache_clear, cache_info, parse_user_agent_properties

DATA = Path(__file__).with_name("data") / "ua_reference.jsonl"
REFERENCE = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Safari/537.36")
PIXEL = ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.6099.43 Mobile Safari/537.36")


@pytest.mark.parametrize(("ua", "expected"), [
    (CHROME_WIN, {"os_name": "Windows", "os_version": "120", "device_model": "Windows"}),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
     "Safari/605.1.15", {"os_name": "Mac OS", "os_version": "17", "device_model": "Mac OS"}),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36", {"os_name": "Chromium OS", "os_version": "120", "device_model": "Chromium OS"}),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) "
     "Version/9.0 Mobile/13B143 Safari/601.1",
     {"os_name": "iOS", "os_version": "9", "device_manufacturer": "Apple", "device_model": "iPhone",
      "device_type": "mobile"}),
    (PIXEL, {"os_name": "Android", "os_version": "120", "device_model": "Pixel 8 Pro", "device_type": "mobile"}),
    ("Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
     "Mobile Safari/537.36", {"os_name": "Android", "os_version": "119", "device_manufacturer": "Samsung",
                              "device_model": "SM-S918B", "device_type": "mobile"}),
    ("okhttp/4.9.3", {}),
    ("curl/8.4.0", {}),
])
def test_table_of_the_reference(ua, expected):
    assert parse_user_agent_properties(ua) == expected


def test_key_order_is_the_references():
    assert list(parse_user_agent_properties(PIXEL)) == ["os_name", "os_version", "device_model", "device_type"]


@pytest.mark.parametrize("row", REFERENCE, ids=lambda r: r["ua"][:60])
def test_recorded_reference_answers(row):
    assert parse_user_agent_properties(row["ua"]) == row["props"]


def test_user_agent_data_wins_and_empty_strings_are_kept():
    got = parse_user_agent_properties(PIXEL, {"platformVersion": "", "model": "Custom"})
    assert got["os_version"] == "" and got["device_model"] == "Custom"
    assert parse_user_agent_properties(PIXEL, {"platformVersion": "14.0.0"})["os_version"] == "14.0.0"


def test_missing_or_empty_user_agents_give_nothing():
    assert parse_user_agent_properties(None) == {}
    assert parse_user_agent_properties("") == {}


def test_the_cache_is_bounded():
    cache_clear()
    for i in range(UA_CACHE_SIZE + 50):
        parse_user_agent_properties(f"{CHROME_WIN} build/{i}")
    info = cache_info()
    assert info.currsize <= UA_CACHE_SIZE
    parse_user_agent_properties(CHROME_WIN)
    parse_user_agent_properties(CHROME_WIN)
    assert cache_info().hits >= 1
