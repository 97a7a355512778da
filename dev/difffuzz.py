#!/usr/bin/env python3
"""Differential fuzzer: seeded random conformance cases, answered by the reference (dev/oracle) and by
amprelay (``amprelay preview --jsonl``), compared with the shared ``compare.py`` rules.

    .venv/bin/python dev/difffuzz.py --seed 1 --n 3000                 # 3000 cases per kind, print parity
    .venv/bin/python dev/difffuzz.py --seed 1 --n 3000 --minimize --report /work/notes/oracle-diffs.md
    .venv/bin/python dev/difffuzz.py --generate-only --seed 7 --n 50 --kinds action > cases.jsonl
    .venv/bin/python dev/difffuzz.py --write-extra                     # regenerate tests/conformance_extra/

Needs Node and dev/oracle/node_modules (see dev/oracle/README.md). The generated cases depend only on
the seed, the counts and the pinned reference's field definitions (``run.js --dump-actions``).

Case kinds (format: tests/conformance/README.md):
  action  - every action, every event type; default mappings (``null``), explicit defaults, defaults
            with fields replaced by odd literals / paths to odd values / directives (valid and invalid
            shapes), unknown keys; settings with and without keys, both regions and a bogus one.
  trigger - random FQL: every field kind and operator, and/or, parentheses, functions, plus the quirky
            forms (single quotes, ``not``/``!``, ``AND``, unknown identifiers, lexer errors, empty).
  mapping - random mapping documents using every mapping-kit directive, valid and invalid shapes.
Events are realistic (bench/corpus.py) and then mutated with adversarial values: empty strings,
nulls, numbers as strings, odd timestamps and session ids, odd user agents, products as arrays /
objects / strings, UTM and referrer variants, wrong types everywhere.
"""

from __future__ import annotations

import argparse
import collections
import copy
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = os.path.join(ROOT, "dev", "oracle", "run.js")
NOW_MS = 1704067200000
EXTRA_DIR = os.path.join(ROOT, "tests", "conformance_extra")
EXTRA_SEED = 20240101
EXTRA_COUNTS = {"action": 500, "trigger": 300, "mapping": 300, "ua": 250}
EXTRA_NAMES = {"action": "actions", "trigger": "triggers", "mapping": "mappings", "ua": "user-agents"}

sys.path.insert(0, os.path.join(ROOT, "bench"))
import corpus  # noqa: E402


def _load_compare():
    for p in (os.path.join(ROOT, "tests", "conformance", "compare.py"), "/work/shared/conformance/compare.py"):
        if os.path.exists(p):
            spec = importlib.util.spec_from_file_location("conformance_compare", p)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    raise SystemExit("compare.py not found")


compare = _load_compare()

# --------------------------------------------------------------------------------------------------
# value pools
# --------------------------------------------------------------------------------------------------

ODD_STRINGS = ["", " ", "  padded  ", "0", "1", "-1", "12.50", " 7 ", "1e3", "12,50", "$9.99", "abc", "true",
               "false", "null", "undefined", "NaN", "Infinity", "2.0", "2.5", "0x1F", "ünïcödé ✓", "東京",
               "emoji 🎉", "a\"quote", "back\\slash", "new\nline", "iOS", "android", "bios-terminal", "iosios",
               "ANDROID", "analytics.js", "use_mapping", "auto", "{\"a\":1}", "[1,2]", "x" * 300]
ODD_NUMBERS = [0, -0.0, 1, -1, 2.5, 3, 12.5, 99.999, 1e21, 1e-7, 123456789012, 1683000000, 1683000000000,
               1683000000000.5, 9007199254740993, -16.35, 1152921504606846976]
ODD_TIMESTAMPS = ["2021-08-17T15:21:15.449Z", "2023-05-01T12:34:56Z", "2023-05-01T14:34:56.789+02:00",
                  "2023-05-01", "2023-05-01 12:34:56", "2023-05-01T12:34:56+0530", "Mon, 01 May 2023 12:34:56 GMT",
                  "1683000000000", "1683000000", "0", "2023", "20230501", "not-a-date", "2023-13-45T99:99:99Z",
                  "", " 123", "2023-05-01T12:34:56.123456Z", "05/01/2023", "2023-W18", "T12:00", "12:34",
                  1683000000000, 1683000000, 0, -1, 1.5, 1683000000000.7, True, False, None, [], {}, "abc",
                  "2024-02-30", "1999-12-31T23:59:59.999Z", "+002023-05-01T00:00:00Z"]
ODD_TIMESTAMPS_MORE = [
    "2023-05-01T12:34:56.1Z", "2023-05-01T12:34:56.12Z", "2023-5-1", "2023/05/01", "2023/05/01 10:00", "May 1, 2023",
    "1 May 2023", "2023-05-01T24:00:00Z", "2023-02-29T00:00:00Z", "2024-02-29", "0000-01-01T00:00:00Z",
    "-000001-01-01T00:00:00Z", "2023-05-01t12:34:56z", "2023-05-01T12:34:56.123+05:30", "2023-05-01 12:34",
    "1683000000.5", " 2023-05-01", "2023-05-01 ", "2023-05-01T12:34:56+05", "2023-05-01T12:34:56 +0000",
    "Sun Apr 30 2023 20:00:00 GMT-0400 (Eastern Daylight Time)", "2023-05-01T12:34:56.000000000Z", "2023-05",
    "2023-05-01T12", "2023-05-01T12:34", "12/31/1999 23:59:59", "31/12/1999", "2023-W01-1", "20230501T123456Z",
    "1683000000000000", "99999999999999", "1e12", "0x10", "-1683000000000", "1683000000000 ", "Tue, 2 May 2023 01:02:03 +0200",
    "2023-05-01T12:34:56.789-07:00", "2023-12-31T23:59:60Z", "2023-00-10", "2023-05-00", "275760-09-13T00:00:00Z",
    "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", 8.64e15, 8.64e15 + 1, -8.64e15, 1e20, 0.5, -0.5, 1683000000000.999,
]
JS_NUMBERS = [0.1, 0.30000000000000004, 1.5e-7, 1e-6, 1e21, 1e20, 123456789.123456789, -0.0, 5e-324,
              1.7976931348623157e308, 9007199254740993, 2**63, 100.0, 1.10, -1e-7, 4.35, 0.000001234]
EVENT_KEYS = ["zero", "empty", "falsy", "js", "list", "big", "tiny", "neg0", "price", "title", "revenue",
              "quantity", "dot.key", "ünï", "a b", "", "constructor", "__proto__", "length", "0"]
PROTO_NAMES = ("constructor", "__proto__", "toString", "hasOwnProperty", "valueOf")
JS_PATHS = ["$.event.length", "$.properties.products.length", "$.userId.0", "$.properties.price.x",
            "$.properties.flag.nope", "$.properties.constructor", "$.properties.__proto__", "$.properties.toString",
            "$.traits.hasOwnProperty", "$.properties.products[1].price", "$.properties['products'][0]",
            "$.properties.nested.a.c[1]", "$.name.length", "$.context.userAgent.length", "$.properties.zero.x",
            "$.properties.empty.length", "$.properties.falsy.x", "$.properties[\"title\"]", "$.properties.",
            "$.", "$.properties..title", "$.properties.dot.key", "$.properties.ünï", "$.properties.a b"]
JS_TEMPLATES = ["{{event.length}}", "{{properties.constructor}}", "{{properties.price.x}}", "{{userId.0}}",
                "{{properties.products.length}}", "{{ }}", "{{a}}{{{b}}}", "{{{properties.title}}}}",
                "{{properties.nested}}", "{{properties.tags}}", "{{properties.zero.x}}", "{{properties.js}}",
                "{{properties.products.0}}", "{{properties.falsy}}", "{{properties.list}}", "{{properties.big}}",
                "{{properties.tiny}}", "{{properties.neg0}}"]
ODD_SESSION_IDS = [1683000000000, "1683000000000", "0", 0, -5, " 123", "123 ", "abc", "2023-05-01", 1.5,
                   "1683000000000.5", True, None, "", [1], {"a": 1}, 1704067200000, "00042"]
ODD_UAS = corpus.USER_AGENTS + corpus.MOBILE_UAS + [
    "", " ", "unknown", "curl/8.4.0", "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 4.0) AppleWebKit/538.1 (KHTML, like Gecko) Version/4.0 TV Safari/538.1",
    "Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) Version/9.0 Mobile/13B143 Safari/601.1",
    "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:109.0) Gecko/20100101 Firefox/115.0",
    "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.10.229 Version/11.62",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko) NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393",
    "Mozilla/5.0 (Linux; Android 11; Mi 10T Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.45 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "Roku4640X/DVP-7.70 (297.70E04154A)", "Xbox One", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)",
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36",
]


def library_user_agents() -> list[str]:
    """The user agents of @amplitude/ua-parser-js's own test suite (from dev/oracle/node_modules), deduplicated."""
    d = os.path.join(ROOT, "dev", "oracle", "node_modules", "@amplitude", "ua-parser-js", "test")
    seen: dict[str, None] = {}
    for name in ("browser-test.json", "cpu-test.json", "device-test.json", "engine-test.json", "os-test.json",
                 "mediaplayer-test.json"):
        try:
            with open(os.path.join(d, name), encoding="utf-8") as fh:
                for item in json.load(fh):
                    if isinstance(item.get("ua"), str):
                        seen.setdefault(item["ua"], None)
        except (OSError, ValueError):
            continue
    return list(seen)


LIBRARY_UAS = library_user_agents()
ODD_UAS.extend(LIBRARY_UAS)
ANY_SCALARS: list[Any] = ODD_STRINGS[:30] + ODD_NUMBERS + [True, False, None]


def _rand_scalar(rng: random.Random) -> Any:
    return rng.choice(ANY_SCALARS)


def _rand_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth >= 2 or r < 0.6:
        return _rand_scalar(rng)
    if r < 0.8:
        return [_rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(["a", "b", "price", "name", "x y", "$set", "nested", "0"]): _rand_value(rng, depth + 1)
            for _ in range(rng.randrange(0, 4))}


def _set(obj: dict, path: list[str], value: Any) -> None:
    cur = obj
    for k in path[:-1]:
        nxt = cur.get(k)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[k] = nxt
        cur = nxt
    cur[path[-1]] = value


def _odd_product(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.08:
        return rng.choice([None, "sku_1", 5, [], ["a"]])
    p: dict[str, Any] = {}
    for key, pool in (("price", [9.99, "1.5", "12.50", "abc", "", None, 0, -3, True, "$9.99", 1e21]),
                      ("quantity", [1, 2, "3", "2.0", 2.5, "x", "", None, 0, True, -1]),
                      ("revenue", [10, "21", "", None, 0, "abc", 5.5]),
                      ("productId", ["p1", 7, "", None, True, ["x"], {"id": 1}]),
                      ("revenueType", ["Purchase", "Refund", "", None, 3]),
                      ("product_id", ["sku_1", 410]), ("sku", ["Café Crème", "SKU-1"]), ("name", ["Game", "", None]),
                      ("category", ["Book"]), ("extra", [{"a": 1}, [1, 2]])):
        if rng.random() < 0.55:
            p[key] = rng.choice(pool)
    return p


# --------------------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------------------

EVENT_TYPES = ["track", "page", "screen", "identify", "group", "alias"]


def _mutate_event(rng: random.Random, ev: dict[str, Any]) -> None:
    m = rng.randrange(19)
    if m >= 17:
        props = ev.get("properties") if isinstance(ev.get("properties"), dict) else {}
        for _ in range(rng.randrange(1, 5)):
            k = rng.choice(EVENT_KEYS)
            props[k] = rng.choice(JS_NUMBERS + [0, "", False, None, [1, None, "a", [2, 3], {"b": 1}], [], [None],
                                                "0", " ", {"x": 0}, True])
        ev["properties"] = props
        return
    if m == 0:
        ev["userId"] = rng.choice(["", None, 12345, 12.5, True, ["x"], ["x", "y"], {"a": 1}, " ", "user1234",
                                   "ünïcödé"])
    elif m == 1:
        ev["anonymousId"] = rng.choice(["", None, 42, "anon-1", ["a"]])
        if rng.random() < 0.3:
            ev.pop("anonymousId", None)
    elif m == 2:
        if ev.get("type") in ("page", "screen"):
            ev["name"] = rng.choice(["", None, 42, "Home", "Ελληνικά", "Viewed {{x}}", True])
        else:
            ev["event"] = rng.choice(["", None, 123, "Order Completed", "order completed", "Song Played",
                                      "Event with \"quotes\"", "ünïcödé", True, ["E"]])
    elif m == 3:
        ev["timestamp"] = rng.choice(ODD_TIMESTAMPS + ODD_TIMESTAMPS_MORE)
        if rng.random() < 0.2:
            ev.pop("timestamp", None)
    elif m == 4:
        _set(ev, ["integrations", "Actions Amplitude", "session_id"], rng.choice(ODD_SESSION_IDS + ODD_TIMESTAMPS_MORE))
        if rng.random() < 0.15:
            ev["integrations"] = rng.choice([None, "x", {"Actions Amplitude": None}, {"Actions Amplitude": 5}])
    elif m == 5:
        _set(ev, ["context", "userAgent"], rng.choice(ODD_UAS + [None, 123]))
        if rng.random() < 0.3:
            _set(ev, ["context", "userAgentData"], rng.choice([
                {"model": "Pixel 8", "platformVersion": "14.0.0"}, {"model": "", "platformVersion": ""},
                {"platformVersion": None}, {"model": 5}, {"model": "SM-X", "extra": 1, "mobile": True}, "x", None]))
    elif m == 6:
        _set(ev, ["context", "library", "name"], rng.choice(["analytics.js", "Analytics.js", "analytics.js ",
                                                             "analytics-ios", "", None, 5, ["analytics.js"]]))
    elif m == 7:
        _set(ev, ["context", "device", "type"], rng.choice(["ios", "android", "bios-terminal", "ANDROID",
                                                           "iosios", "", None, "web", "IOS", 3, "Android TV"]))
        if rng.random() < 0.4:
            _set(ev, ["context", "device", "id"], rng.choice(["", None, "dev-1", 7]))
    elif m == 8:
        props = ev.get("properties") if isinstance(ev.get("properties"), dict) else {}
        for k in rng.sample(["price", "quantity", "revenue", "productId", "revenueType", "currency"], rng.randrange(1, 4)):
            props[k] = rng.choice(ANY_SCALARS + [["1"], {"a": 1}])
        ev["properties"] = props
    elif m == 9:
        props = ev.get("properties") if isinstance(ev.get("properties"), dict) else {}
        r = rng.random()
        if r < 0.6:
            props["products"] = [_odd_product(rng) for _ in range(rng.randrange(0, 4))]
        elif r < 0.8:
            props["products"] = _odd_product(rng)
        else:
            props["products"] = rng.choice(["x", None, 5, [], [None], [[1]]])
        ev["properties"] = props
    elif m == 10:
        r = rng.random()
        camp = {k: rng.choice(["", "google", None, 5, "spring sale"]) for k in
                rng.sample(["source", "medium", "name", "term", "content", "extra"], rng.randrange(0, 5))}
        _set(ev, ["context", "campaign"], camp if r < 0.85 else rng.choice([None, "x", []]))
        if rng.random() < 0.5:
            _set(ev, ["context", "page", "referrer"], rng.choice(["", None, "https://google.com/", 5, " "]))
    elif m == 11:
        _set(ev, ["context", "location", rng.choice(["latitude", "longitude"])],
             rng.choice(["", "40.2", "abc", None, 40.2964197, 0, True, " -76.9 "]))
        if rng.random() < 0.5:
            _set(ev, ["context", "location", rng.choice(["city", "country", "region"])], rng.choice(ANY_SCALARS))
    elif m == 12:
        ev["traits"] = rng.choice([
            {"plan": "pro", "$set": {"a": 1}, "$setOnce": {"b": 2}}, {"utm_properties": {"x": 1}, "referrer": "r"},
            "x", None, [], {"nested": {"a": {"b": 1}}, "empty": "", "nul": None}, {}, {"first_name": "A"}])
    elif m == 13:
        ev["properties"] = rng.choice(["x", None, [], [1, 2], {}, 5, {"a": {"b": [1, {"c": None}]}}])
    elif m == 14:
        key = rng.choice([["context", "locale"], ["context", "ip"], ["context", "app", "version"],
                          ["context", "os", "name"], ["context", "os", "version"], ["context", "device", "model"],
                          ["context", "device", "manufacturer"], ["context", "device", "brand"],
                          ["context", "network", "carrier"], ["context", "device", "advertisingId"],
                          ["context", "device", "idfa"], ["messageId"], ["groupId"], ["previousId"]])
        _set(ev, key, rng.choice(ANY_SCALARS + [["a"], {"a": 1}]))
    elif m == 15:
        ev["type"] = rng.choice(EVENT_TYPES + ["foo", "", None, "Track", 1])
        if rng.random() < 0.1:
            ev.pop("type", None)
    else:
        if rng.random() < 0.5:
            ev["context"] = rng.choice([None, "x", {}, {"traits": {"email": "a@b.c"}}])
        else:
            _set(ev, ["context", rng.choice(["app", "os", "device", "page", "library"])], rng.choice([None, "x", 5, []]))


class EventGen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._corpus = corpus._Gen(seed ^ 0x5EED)

    def event(self, etype: str | None = None, mutations: int | None = None) -> dict[str, Any]:
        rng = self.rng
        etype = etype or rng.choices(EVENT_TYPES, weights=[40, 15, 10, 15, 12, 8])[0]
        ev = getattr(self._corpus, etype)()
        if etype == "group" and rng.random() < 0.5:
            ev["groupId"] = rng.choice(["grp_1", "", None, 42, ["g"]])
        if etype == "track" and rng.random() < 0.25 and isinstance(ev.get("properties"), dict):
            ev["properties"].setdefault("products", [_odd_product(rng) for _ in range(rng.randrange(1, 4))])
        n = mutations if mutations is not None else rng.choices([0, 1, 2, 3, 4, 6], weights=[20, 30, 22, 14, 9, 5])[0]
        for _ in range(n):
            _mutate_event(rng, ev)
        return ev


# --------------------------------------------------------------------------------------------------
# mapping-kit values
# --------------------------------------------------------------------------------------------------

EVENT_PATHS = [
    "$.userId", "$.anonymousId", "$.event", "$.name", "$.type", "$.timestamp", "$.messageId", "$.groupId",
    "$.previousId", "$.properties", "$.properties.price", "$.properties.quantity", "$.properties.revenue",
    "$.properties.productId", "$.properties.products", "$.properties.products[0].price",
    "$.properties.products.0.price", "$.properties.title", "$.properties.order_id", "$.properties.missing",
    "$.traits", "$.traits.email", "$.traits.plan", "$.traits.company", "$.traits.nope", "$.context",
    "$.context.userAgent", "$.context.page.referrer", "$.context.campaign", "$.context.campaign.source",
    "$.context.device.id", "$.context.device.type", "$.context.library.name", "$.context.location",
    "$.context.location.latitude", "$.context.locale", "$.context.ip", "$.context.app.version",
    "$.integrations.Actions Amplitude.session_id", "$.integrations", "$.nope.deeper", "$", "properties.price",
    "userId", "$.properties.nested.a.b", "$.context.traits", "$..userId", "$.properties['price']",
]
TEMPLATES = ["Viewed {{name}}", "{{event}}", "{{properties.price}}", "{{{properties.title}}}", "{{userId}}-{{anonymousId}}",
             "{{traits}}", "{{properties.products}}", "{{ properties.price }}", "plain text", "", "{{missing}}",
             "{{properties}}", "{{context.campaign.source}} / {{context.page.referrer}}", "{{", "}}{{", "{{traits.first_name}} {{traits.last_name}}",
             "{{properties.products.0.price}}", "{{$.userId}}"]
LIQUIDS = ["{{ event | upcase }}", "{% if properties.revenue %}Revenue: {{ event }}{% else %}{{ event }}{% endif %}",
           "{{ properties.price | plus: 1 }}", "{{ userId | default: 'anon' }}", "{{ name | downcase }}"]


DIRECTIVE_KINDS = ["@path", "@template", "@literal", "@if", "@if", "@case", "@replace", "@arrayPath", "@json", "@flatten",
                   "@merge", "@transform", "@excludeWhenNull", "@liquid"]


def drop_prototype_names() -> None:
    def keep(x: str) -> bool:
        return not any(n in x for n in PROTO_NAMES)
    JS_PATHS[:] = [x for x in JS_PATHS if keep(x)]
    JS_TEMPLATES[:] = [x for x in JS_TEMPLATES if keep(x)]
    TRIGGER_QUIRKS[:] = [x for x in TRIGGER_QUIRKS if keep(x)]
    EVENT_KEYS[:] = [x for x in EVENT_KEYS if keep(x)]


class MappingGen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def path(self) -> str:
        return self.rng.choice(EVENT_PATHS) if self.rng.random() < 0.8 else self.rng.choice(JS_PATHS)

    def value(self, depth: int = 0, invalid: float = 0.04) -> Any:
        """A mapping value: raw JSON, a directive, or an object of values."""
        rng = self.rng
        if depth > 3:
            return rng.choice([{"@path": self.path()}, _rand_scalar(rng)])
        r = rng.random()
        if r < invalid:
            return self.invalid(depth)
        if r < 0.38:
            return {"@path": self.path()}
        if r < 0.5:
            return _rand_value(rng)
        if r < 0.58:
            return {k: self.value(depth + 1, invalid) for k in rng.sample(["a", "b", "k0", "x y", "0"], rng.randrange(1, 3))}
        return self.directive(depth)

    def str_value(self, depth: int) -> Any:
        rng = self.rng
        if rng.random() < 0.3:
            return rng.choice(["Hello World", "MiXeD", "", "abc", "ÄÖÜ straße", "a.b.c", "x"])
        return self.directive(depth, kinds=["@path", "@path", "@template", "@case", "@replace", "@if", "@json", "@literal"])

    def directive(self, depth: int = 0, kinds: list[str] | None = None) -> Any:
        rng = self.rng
        kind = rng.choice(kinds or DIRECTIVE_KINDS)
        d = depth + 1
        if kind == "@path":
            return {"@path": self.path()}
        if kind == "@template":
            return {"@template": rng.choice(TEMPLATES) if rng.random() < 0.7 else rng.choice(JS_TEMPLATES)}
        if kind == "@liquid":
            return {"@liquid": rng.choice(LIQUIDS)}
        if kind == "@literal":
            return {"@literal": rng.choice([_rand_value(rng), {"@path": self.path()}, [1, 2], {"a": {"@path": "$.userId"}}])}
        if kind == "@if":
            o: dict[str, Any] = {}
            cond = rng.choices(["exists", "blank", "both", "none"], weights=[60, 25, 8, 3])[0]
            if cond in ("exists", "both"):
                o["exists"] = {"@path": self.path()}
            if cond in ("blank", "both"):
                o["blank"] = {"@path": self.path()} if rng.random() < 0.92 else rng.choice(["", 0, "x"])
            if rng.random() < 0.85:
                o["then"] = self.value(d)
            if rng.random() < 0.7:
                o["else"] = rng.choice([self.value(d), "", 0, False, None, "fallback"])
            return {"@if": o}
        if kind == "@case":
            o = {"operator": rng.choices(["lower", "upper", "title", ""], weights=[45, 45, 5, 5])[0]}
            if rng.random() < 0.92:
                o["value"] = self.str_value(d) if rng.random() < 0.8 else rng.choice(
                    ["İstanbul", "straße", "ΣΑΣ", "ǅ", "ﬁ", "Ω", "ÀÉÎ", "ß", "ŉ", "ΐ", "i̇"])
            return {"@case": o}
        if kind == "@replace":
            o = {"pattern": rng.choice(["l", "-", ".", " ", "a", "(", "$", "*", "o", "e", "xx", "abcdefghij", "\\", "^",
                                        "[a]", "a|b", "\\d", "?", "+", "{2}", "İ", "ß", "/", "\n", "1"]),
                 "value": self.str_value(d)}
            if rng.random() < 0.8:
                o["replacement"] = rng.choice(["", "_", "X", "$&", "$1", "--", "$$", "$`", "$'", "$<n>", "\\"])
            if rng.random() < 0.3:
                o["pattern2"] = rng.choice(["b", "o", " "])
                if rng.random() < 0.7:
                    o["replacement2"] = rng.choice(["B", ""])
            if rng.random() < 0.3:
                o["ignorecase"] = rng.choice([True, False])
            if rng.random() < 0.3:
                o["global"] = rng.choice([True, False])
            return {"@replace": o}
        if kind == "@arrayPath":
            root = rng.choice(["$.properties.products", "$.properties.products", "$.properties", "$.traits",
                               "$.properties.missing", "$.properties.tags", {"@path": "$.properties.products"}])
            shape = rng.choice([
                {"pid": {"@path": "$.productId"}, "p": {"@path": "$.price"}, "q": {"@path": "quantity"}, "c": "const"},
                {"price": {"@path": "price"}, "revenue": {"@path": "revenue"}, "quantity": {"@path": "quantity"},
                 "productId": {"@path": "productId"}, "revenueType": {"@path": "revenueType"}},
                {}, {"name": {"@template": "{{name}}!"}}, {"v": self.value(d)},
            ])
            return {"@arrayPath": [root, shape] if rng.random() < 0.9 else [root]}
        if kind == "@json":
            o = {"mode": rng.choice(["encode", "decode", "encode", "decode"])}
            if rng.random() < 0.93:
                o["value"] = rng.choice([{"@path": self.path()}, "{\"a\":1}", "not json", "[1,2]", "\"xy\"", 7,
                                         {"@literal": {"city": "Paris"}}, {"@template": "{{userId}}"}])
            return {"@json": o}
        if kind == "@flatten":
            o = {"value": rng.choice([{"@path": self.path()}, {"a": {"b": 1, "c": [1, 2]}}, {"@path": "$.properties"},
                                      {"@path": "$.context"}])}
            if rng.random() < 0.96:
                o["separator"] = rng.choice([".", "_", "/", "--", ".", "_", ""])
            if rng.random() < 0.4:
                o["omitArrays"] = rng.choice([True, False])
            return {"@flatten": o}
        if kind == "@merge":
            o = {"objects": [rng.choice([{"@path": "$.traits"}, {"@path": "$.properties"}, {"@path": "$.context.traits"},
                                         {"a": 1, "b": {"@path": "$.userId"}}, {"@path": "$.event"}, {"@path": "$.nope"},
                                         {"@literal": {"x": 1}}])
                             for _ in range(rng.randrange(1, 4))]}
            if rng.random() < 0.96:
                o["direction"] = rng.choice(["left", "right"])
            return {"@merge": o}
        if kind == "@transform":
            return {"@transform": {
                "apply": {"t": {"@path": rng.choice(["$.properties.title", "$.name", "$.event", "$.properties"])},
                          "u": {"@path": "$.userId"}},
                "mapping": rng.choice([{"out": {"@path": "$.t"}, "both": {"@template": "{{t}}/{{u}}"}},
                                       {"@path": "$.u"}, {"x": {"@case": {"operator": "upper", "value": {"@path": "$.t"}}}}]),
            }}
        # @excludeWhenNull
        return {"@excludeWhenNull": rng.choice([{"@path": self.path()}, {"a": None, "b": {"c": None, "d": 1}},
                                                {"@path": "$.properties"}, None, {"@path": "$.traits"}])}

    def invalid(self, depth: int = 0) -> Any:
        rng = self.rng
        return rng.choice([
            {"@path": 5}, {"@path": None}, {"@template": 7}, {"@nope": "x"}, {"@path": "$.a", "@template": "b"},
            {"@path": "$.a", "extra": 1}, {"@if": "x"}, {"@if": {"then": 1}}, {"@if": {"exists": 1, "foo": 2}},
            {"@case": {"operator": "upper", "value": 5}}, {"@case": {"operator": 5, "value": "x"}},
            {"@case": {"value": "x"}}, {"@replace": {"value": "x"}}, {"@replace": {"pattern": "", "value": "x"}},
            {"@replace": {"pattern": "abcdefghijk", "value": "x"}}, {"@replace": {"pattern": "a", "value": {"a": 1}}},
            {"@replace": {"pattern": "a", "replacement": "12345678901", "value": "x"}},
            {"@replace": {"pattern": "a", "value": "x", "global": "yes"}}, {"@arrayPath": "$.x"},
            {"@arrayPath": [5, {}]}, {"@json": {"mode": "foo", "value": 1}}, {"@json": {"value": 1}},
            {"@json": {"mode": "encode"}}, {"@flatten": {"separator": 5, "value": {}}}, {"@flatten": {"value": {}}},
            {"@merge": {"objects": "x"}}, {"@merge": {"objects": [1], "direction": "right"}},
            {"@merge": {"objects": [{}], "direction": "up"}}, {"@transform": {"apply": 1, "mapping": {}}},
            {"@transform": {"apply": {}}}, {"@liquid": 5}, {"@literal": {"@nope": 1}}, {"a": {"@path": 1}},
            {"@template": ["x"]}, {"_metadata": {}, "@path": "$.userId"},
        ])


# --------------------------------------------------------------------------------------------------
# action cases
# --------------------------------------------------------------------------------------------------

ACTIONS = ["logEventV2", "logPurchase", "logEvent", "identifyUser", "groupIdentifyUser", "mapUser"]
ACTION_WEIGHTS = [30, 20, 14, 16, 12, 8]
ACTION_EVENT_TYPES = {
    "logEventV2": ["track", "track", "page", "screen", "identify"], "logPurchase": ["track"] * 4 + ["page"],
    "logEvent": ["track", "page", "screen"], "identifyUser": ["identify", "identify", "track", "page"],
    "groupIdentifyUser": ["group", "group", "identify", "track"], "mapUser": ["alias", "alias", "identify"],
}
TYPE_VALUES: dict[str, list[Any]] = {
    "string": ["x", "", " ", "12345", 12345, 12.5, True, False, ["x"], ["x", "y"], {"a": 1}, None, "ünïcödé",
               "iOS", "bios-terminal", "analytics.js", "Analytics.js"],
    "number": [12.5, "12.50", " 7 ", "1e3", "12,50", "$9.99", "abc", "", True, False, 0, -1, None, "0", [3], ["3"], "Infinity"],
    "integer": [3, "3", "2.0", 2.5, "x", "", True, 0, -1, None, 1e21, [2], "07", " 4 "],
    "boolean": [True, False, "true", "false", 1, 0, "yes", "", None, "1", "0", [True], "TRUE"],
    "datetime": ODD_TIMESTAMPS[:18] + [1683000000000, 0, -1, 1.5, True, None, "abc"],
    "object": [{"a": 1}, {}, "x", [1, 2], None, {"$set": {"a": 1}}, {"nested": {"b": [1, {"c": None}]}}, 5, {"": ""},
               {"a": "", "b": None}],
}
VALID_VALUES: dict[str, list[Any]] = {  # values ajv accepts (possibly after coercion)
    "string": ["x", "12345", 12345, 12.5, True, "ünïcödé", "iOS", "bios-terminal", "analytics.js", ["x"], " padded "],
    "number": [12.5, "12.50", " 7 ", "1e3", True, False, 0, -1, "0", 99.999, -16.35, 1e21],
    "integer": [3, "3", "2.0", True, 0, -1, " 4 ", 2.0, 1683000000000],
    "boolean": [True, False, "true", "false", 1, 0],
    "datetime": ODD_TIMESTAMPS[:12] + ODD_TIMESTAMPS_MORE + [1683000000000, 1683000000, 0, -1, 1.5],
    "object": [{"a": 1}, {}, {"$set": {"a": 1}}, {"nested": {"b": [1, {"c": None}]}}, {"": ""}, {"a": "", "b": None}],
}
PATHS_BY_TYPE = {
    "string": ["$.userId", "$.anonymousId", "$.event", "$.name", "$.properties.title", "$.context.device.type",
               "$.properties.price", "$.traits.email", "$.groupId", "$.context.library.name", "$.nope", "$.properties"],
    "number": ["$.properties.price", "$.properties.revenue", "$.properties.quantity", "$.properties.total",
               "$.context.location.latitude", "$.properties.title", "$.nope", "$.traits.logins"],
    "integer": ["$.properties.quantity", "$.properties.price", "$.traits.logins", "$.nope", "$.properties.count"],
    "boolean": ["$.properties.flag", "$.traits.paying", "$.nope", "$.properties.ratio"],
    "datetime": ["$.timestamp", "$.sentAt", "$.integrations.Actions Amplitude.session_id", "$.properties.time",
                 "$.nope", "$.traits.createdAt", "$.receivedAt"],
    "object": ["$.properties", "$.traits", "$.context", "$.context.traits", "$.properties.products",
               "$.nope", "$.event", "$.context.campaign"],
}
SETTINGS_POOL = [
    {"apiKey": "4cb14028d512c9791e558e08baa7196b", "secretKey": "s3cr3t", "endpoint": "north_america"},
    {"apiKey": "k", "secretKey": "s", "endpoint": "europe"},
    {"apiKey": "k", "secretKey": "s"},
    {"apiKey": "test-api-key", "secretKey": "s", "endpoint": "mars"},
    {},
    {"apiKey": "", "secretKey": ""},
    {"secretKey": "only-secret", "endpoint": "europe"},
]


class ActionCaseGen:
    def __init__(self, fields: dict[str, Any], seed: int) -> None:
        self.rng = random.Random(seed)
        self.events = EventGen(seed + 1)
        self.mgen = MappingGen(self.rng)
        self.fields = fields  # action -> {field -> def}

    def defaults(self, action: str) -> dict[str, Any]:
        return {k: copy.deepcopy(f["default"]) for k, f in self.fields[action]["fields"].items() if "default" in f and f["default"] is not None}

    def field_value(self, action: str, name: str) -> Any:
        rng = self.rng
        f = self.fields[action]["fields"][name]
        t = f["type"]
        r = rng.random()
        if f.get("properties") and r < 0.35:
            out = {}
            for pk, pdef in f["properties"].items():
                if rng.random() < 0.6:
                    out[pk] = rng.choice(TYPE_VALUES.get(pdef["type"], TYPE_VALUES["string"])) if rng.random() < 0.5 \
                        else {"@path": rng.choice(PATHS_BY_TYPE.get(pdef["type"], PATHS_BY_TYPE["string"]))}
            if rng.random() < 0.2:
                out["extra_key"] = rng.choice(["x", 1, ""])
            if name == "library2" and rng.random() < 0.7:
                out["behavior"] = rng.choice(["use_mapping", "auto", "", None, "USE_MAPPING", 5])
            return out
        if name == "products" and r < 0.5:
            return self.mgen.directive(0, kinds=["@arrayPath"]) if rng.random() < 0.7 else {"@path": "$.properties.products"}
        if r < 0.45:
            pool = VALID_VALUES if rng.random() < 0.65 else TYPE_VALUES
            return rng.choice(pool.get(t, pool["string"]))
        if r < 0.8:
            return {"@path": rng.choice(PATHS_BY_TYPE.get(t, PATHS_BY_TYPE["string"]))}
        return self.mgen.directive(0)

    def case(self, idx: int) -> dict[str, Any]:
        rng = self.rng
        action = rng.choices(ACTIONS, weights=ACTION_WEIGHTS)[0]
        if rng.random() < 0.04:
            action = rng.choice(ACTIONS)  # any event type with any action
            etype = rng.choice(EVENT_TYPES)
        else:
            etype = rng.choice(ACTION_EVENT_TYPES[action])
        names = list(self.fields[action]["fields"])
        style = rng.choices(["null", "explicit", "tweak", "directive", "odd"], weights=[26, 8, 36, 24, 6])[0]
        if style == "null" and "event_type" in names and rng.random() < 0.85:
            etype = "track"
        event = self.events.event(etype, mutations=rng.choices([0, 1, 2, 3, 5], weights=[35, 33, 18, 10, 4])[0])
        tags: list[str] = []
        if style == "null":
            mapping = None
            if action == "groupIdentifyUser" and rng.random() < 0.85:
                style = "tweak"
                mapping = self.defaults(action)
        else:
            mapping = self.defaults(action)
        if action == "groupIdentifyUser" and mapping is not None and rng.random() < 0.95:
            mapping["group_type"] = rng.choice(["org", "company", {"@path": "$.traits.industry"}, 5, {"@template": "team"},
                                                "org", "", "company"])
            mapping["group_value"] = rng.choice([{"@path": "$.groupId"}, "g1", 42, {"@path": "$.groupId"}, "g1",
                                                 {"@path": "$.nope"}, ""])
            if mapping["group_value"] == {"@path": "$.groupId"} and event.get("groupId") in (None, "") and rng.random() < 0.8:
                mapping["group_value"] = rng.choice(["g1", {"@path": "$.userId"}, {"@template": "{{traits.name}}"}])
            if rng.random() < 0.5:
                mapping["time"] = rng.choice([{"@path": "$.timestamp"}] + TYPE_VALUES["datetime"])
            if rng.random() < 0.3:
                mapping["insert_id"] = {"@path": "$.messageId"}
        if mapping is not None and "event_type" in mapping and rng.random() < 0.85 \
                and not (isinstance(event.get("event"), str) and event["event"]):
            # as the Page/Screen presets; other types get their type as event type
            mapping["event_type"] = {"@template": "Viewed {{name}}"} if etype in ("page", "screen") else {"@path": "$.type"}
        required = {"event_type", "group_type", "group_value"}
        if rng.random() < 0.8:  # keep the required fields' mappings most of the time
            names = [nm for nm in names if nm not in required]
        if style == "tweak":
            for name in rng.sample(names, min(len(names), rng.randrange(1, 5))):
                mapping[name] = self.field_value(action, name)
                tags.append(name)
            if rng.random() < 0.15:
                for name in rng.sample(list(mapping), min(len(mapping), rng.randrange(1, 6))):
                    mapping.pop(name, None)
                tags.append("drop")
        elif style == "directive":
            for name in rng.sample(names, min(len(names), rng.randrange(1, 4))):
                mapping[name] = self.mgen.directive(0)
                tags.append(name + ":" + next(iter(mapping[name])))
        elif style == "odd":
            kind = rng.randrange(5)
            if kind == 0:
                mapping[rng.choice(["foo", "bar", "Event_Type", "_metadata"])] = rng.choice(["bar", {"@path": "$.userId"}, 1])
            elif kind == 1:
                mapping[rng.choice(names)] = self.mgen.invalid()
            elif kind == 2:
                mapping = {}
            elif kind == 3:
                mapping["min_id_length"] = rng.choice([None, 0, -1, 5, "5", 2.5, "x", True])
            else:
                mapping["__segment_internal_directive"] = rng.choice([{"@path": "$.properties"}, {"@merge": {"objects": [{"@path": "$.traits"}], "direction": "right"}}])
            tags.append(f"odd{kind}")
        for extra in ("min_id_length", "use_batch_endpoint", "includeRawUserAgent", "userAgentParsing", "trackRevenuePerProduct"):
            if mapping is not None and extra in self.fields[action]["fields"] and rng.random() < 0.07:
                mapping[extra] = rng.choice(TYPE_VALUES[self.fields[action]["fields"][extra]["type"]])
                tags.append(extra)
        settings = copy.deepcopy(rng.choice(SETTINGS_POOL))
        cid = f"df-{action}-{idx:05d}-{style}" + (f"[{','.join(tags)}]" if tags else "")
        return {"id": cid, "kind": "action", "action": action, "settings": settings, "mapping": mapping, "event": event}


# --------------------------------------------------------------------------------------------------
# trigger cases
# --------------------------------------------------------------------------------------------------

PROP_KEYS = ["price", "revenue", "title", "count", "flag", "rev_str", "currency", "nested.a", "products", "plan", "missing",
             "title.length", "products.length", "products.0.price", "zero.x", "tags.1", "dot.key", "big", "tiny"]
TRIGGER_QUIRKS = [
    "type = 'track'", 'foo = "bar"', 'not type = "track"', '!(type = "track")', 'type = "track" AND event = "x"',
    'contains(type, "t")', "type", 'userId != null', 'userId = null', 'properties.price != null',
    'traits.plan = null', 'name != null', 'event != ""', 'properties.rev_str = 10', 'properties.price = "10"',
    'userId = true', 'properties.flag = false', 'context.library.name = "analytics.js"',
    'properties.price > "5"', 'event = Order', 'type = track', 'properties.price >= 1e3', 'properties.price < -5',
    'properties.price = .5', 'properties.price = 5.', 'properties.price = 0x10', 'properties.title = "a\\"b"',
    'properties.constructor != null', 'traits.__proto__ = null', 'properties.toString = null',
    'contains(properties.constructor, "function")', 'properties.price = 10 or', 'type = "track" or or type = "page"',
    'event = "Order Completed" and (properties.revenue > 100 or properties.total > 100)',
    'match(userId, "user_*")', 'match(context.library.name, "*.js")', 'contains(context.userAgent, "iPhone")',
    'properties.products.0.price > 10', 'properties.tags.length = 2', 'userId.length > 3', 'event.length > 3',
    'type in ["track", "page"]', 'event = null', 'event != null', 'name = null', 'properties.title = true',
    'properties.zero = 0', 'properties.zero = false', 'properties.empty = ""', 'properties.falsy != null',
]
OPS = ["=", "!=", "<", ">", "<=", ">="]


def _fql_str(s: str) -> str:
    return '"' + s + '"'


class TriggerCaseGen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events = EventGen(seed + 2)
        self.touch: list[tuple[list[str], Any]] = []

    def literal(self) -> tuple[str, Any]:
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            v = rng.choice(["track", "Order Completed", "pro", "USD", "Home", "x", "", "10", "true", "null", "A B", "ünï"])
            return _fql_str(v), v
        if r < 0.7:
            v = rng.choice([0, 1, 10, 10.5, -3, 100, 1e3])
            return (str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else str(v)), v
        v = rng.choice(["true", "false", "null"])
        return v, {"true": True, "false": False, "null": None}[v]

    def atom(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.22:
            t = rng.choice(EVENT_TYPES + ["Track", "foo"])
            return f"type {rng.choice(['=', '=', '!='])} {_fql_str(t)}"
        if r < 0.36:
            field = rng.choice(["event", "name", "userId"])
            lit, val = self.literal()
            op = rng.choice(["=", "!=", "=", "!="] + (["<", ">"] if rng.random() < 0.1 else []))
            self.touch.append(([field], val))
            return f"{field} {op} {lit}"
        if r < 0.75:
            root = rng.choices(["properties", "traits", "context"], weights=[6, 2, 2])[0]
            key = rng.choice(PROP_KEYS) if root != "context" else rng.choice(["library.name", "locale", "device.type", "app.version", "page.path", "missing"])
            lit, val = self.literal()
            op = rng.choice(OPS)
            self.touch.append(([root] + key.split("."), val))
            return f"{root}.{key} {op} {lit}"
        if r < 0.92:
            fn = rng.choice(["contains", "match"])
            field = rng.choice(["event", "name", "userId", "properties.title", "traits.plan", "context.library.name", "properties.rev_str"])
            if fn == "contains":
                s = rng.choice(["Order", "o", "", "pro", "analytics", "ünï", "Comp"])
            else:
                s = rng.choice(["Order*", "*Completed", "Or*ed", "*", "analytics*", "*.js", "Home", "*ome"])
            neg = "!" if rng.random() < 0.2 else ""
            self.touch.append((field.split("."), rng.choice(["Order Completed", "analytics.js", "pro", "Home", "x"])))
            return f'{neg}{fn}({field}, "{s}")'
        return rng.choice(TRIGGER_QUIRKS)

    def expr(self, depth: int = 0) -> str:
        rng = self.rng
        n = rng.choices([1, 2, 3, 4], weights=[30, 40, 20, 10])[0]
        parts = []
        for _ in range(n):
            if depth < 2 and rng.random() < 0.18:
                parts.append("(" + self.expr(depth + 1) + ")")
            else:
                parts.append(self.atom())
        out = parts[0]
        for p in parts[1:]:
            out += f" {rng.choice(['and', 'or', 'and', 'or', 'and'])} {p}"
        return out

    def soup(self) -> str:
        """Random token sequences: the parser's odd corners (no precedence, first ')', skipped tokens)."""
        rng = self.rng
        vocab = ["type", "event", "name", "userId", "properties.price", "traits.plan", "context.library.name",
                 "properties.title", "foo", "=", "!=", "<", ">", "<=", ">=", "and", "or", "AND", "OR", "not", "!",
                 "(", ")", ",", '"track"', '"Order Completed"', '"x"', "'track'", "10", "10.5", "-3", "true",
                 "false", "null", "contains", "match", "contains(", "match(", '"*ed"', '"Or*"', "in", "[", "]",
                 "==", "&&", "||", ".", '""', "0"]
        return " ".join(rng.choice(vocab) for _ in range(rng.randrange(1, 12)))

    def trigger(self) -> str:
        rng = self.rng
        if rng.random() < 0.12:
            return self.soup()
        r = rng.random()
        if r < 0.05:
            return rng.choice(['type = "track" and event != "Order Completed"', 'type = "track" and event = "Order Completed"',
                               'type = "page"', 'type = "screen"', 'type = "identify"',
                               'type = "track" or type = "identify" or type = "group" or type = "page" or type = "alias"'])
        if r < 0.09:
            return rng.choice(["", " ", "((type = \"track\"))", 'type = "track', 'type == "track"', 'type = ',
                               'and type = "track"', 'type = "track" and', '(type = "track"', 'type = "track")',
                               'event = "a\\"b"', "properties.x = 1.2.3", '@type = "x"', 'type = "track" & event = "x"',
                               'type = "track" or (event = "x" and (name = "y"))', 'match(event)', 'contains(event, )'])
        return self.expr()

    def case(self, idx: int) -> dict[str, Any]:
        rng = self.rng
        self.touch = []
        trig = self.trigger()
        ev = self.events.event()
        for path, val in self.touch:
            if rng.random() < 0.55:
                v = val
                if rng.random() < 0.3:
                    v = rng.choice([str(val) if val is not None else "null", val, 10, "10", None, "", True, "Order Completed"])
                if path[0] in ("event", "name", "userId"):
                    ev[path[0]] = v
                else:
                    _set(ev, path, v)
        if rng.random() < 0.15:
            ev["type"] = rng.choice(EVENT_TYPES)
        return {"id": f"dt-{idx:05d}", "kind": "trigger", "trigger": trig, "event": ev}


# --------------------------------------------------------------------------------------------------
# mapping cases
# --------------------------------------------------------------------------------------------------

class UaCaseGen:
    """One action case per user agent of ua-parser-js's test suite (plus the generator's own pool): the
    default mapping of an event action, with and without userAgentData / includeRawUserAgent."""

    def __init__(self, fields: dict[str, Any], seed: int) -> None:
        self.rng = random.Random(seed)
        self.events = EventGen(seed + 4)
        self.fields = fields
        self.uas = list(dict.fromkeys(LIBRARY_UAS + ODD_UAS))

    def case(self, idx: int) -> dict[str, Any]:
        rng = self.rng
        ua = self.uas[idx % len(self.uas)]
        action = rng.choice(["logEventV2", "logEventV2", "logEvent", "logPurchase", "identifyUser"])
        ev = self.events.event("identify" if action == "identifyUser" else "track", mutations=0)
        if isinstance(ev.get("properties"), dict):
            ev["properties"].pop("products", None)  # keep the answer about the user agent, not ajv
        ev.setdefault("context", {})["userAgent"] = ua
        if rng.random() < 0.2:
            ev["context"]["userAgentData"] = rng.choice([{"model": "Pixel 8", "platformVersion": "14.0.0"},
                                                         {"model": "", "platformVersion": ""}, {"platformVersion": "10.0"}])
        mapping = None
        if rng.random() < 0.3:
            mapping = {k: copy.deepcopy(f["default"]) for k, f in self.fields[action]["fields"].items()
                       if f.get("default") is not None}
            mapping["includeRawUserAgent"] = True
        return {"id": f"du-{action}-{idx:05d}", "kind": "action", "action": action, "settings": {"apiKey": "k"},
                "mapping": mapping, "event": ev}


class MappingCaseGen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events = EventGen(seed + 3)
        self.mgen = MappingGen(self.rng)

    def case(self, idx: int) -> dict[str, Any]:
        rng = self.rng
        ev = self.events.event()
        if rng.random() < 0.5 and isinstance(ev.get("properties"), dict):
            p = ev["properties"]
            p.setdefault("title", rng.choice(["Hello World", "", None, "MiXeD", 5]))
            p.setdefault("nested", rng.choice([{"a": {"b": 1, "c": [1, 2]}, "d": None}, {"x y": {"z": "w"}}, [], "s"]))
            p.setdefault("tags", rng.choice([["a", "b"], "x", [], None]))
            p.setdefault("json", rng.choice(["{\"a\":1}", "not json", "", "[1,2]"]))
        r = rng.random()
        if r < 0.03:
            mapping: Any = rng.choice([True, 5, "x", [1, 2], None])
        else:
            mapping = {f"f{i}": self.mgen.value(0, invalid=0.05) for i in range(rng.randrange(1, 5))}
        return {"id": f"dm-{idx:05d}", "kind": "mapping", "mapping": mapping, "event": ev}


# --------------------------------------------------------------------------------------------------
# running the engines
# --------------------------------------------------------------------------------------------------

def dump_actions() -> dict[str, Any]:
    out = subprocess.run(["node", ORACLE, "--dump-actions"], check=True, capture_output=True, text=True)
    d = json.loads(out.stdout)
    for a in d["actions"].values():
        for f in a["fields"].values():
            f.setdefault("default", None)
    return d


def generate(kind: str, n: int, seed: int, fields: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    if kind == "action":
        g: Any = ActionCaseGen(fields or dump_actions()["actions"], seed)
    elif kind == "ua":
        g = UaCaseGen(fields or dump_actions()["actions"], seed)
    elif kind == "trigger":
        g = TriggerCaseGen(seed)
    elif kind == "mapping":
        g = MappingCaseGen(seed)
    else:
        raise ValueError(kind)
    return [g.case(i) for i in range(n)]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def write_jsonl(rows: list[dict[str, Any]], path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(_dumps(r) + "\n")


def _run_engine(cmd: list[str], cases: list[dict[str, Any]], timeout: float) -> tuple[dict[str, dict], str]:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for c in cases:
            fh.write(_dumps(c) + "\n")
        path = fh.name
    try:
        with open(path, encoding="utf-8") as stdin:
            p = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {}, "timeout"
    finally:
        os.unlink(path)
    out: dict[str, dict] = {}
    for line in p.stdout.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if isinstance(r, dict) and "id" in r:
            out[r["id"]] = r
    err = "" if p.returncode == 0 else f"exit {p.returncode}: {p.stderr.strip()[-500:]}"
    return out, err


RAW = {"on": False}  # --raw: also compare the exact body bytes and content type (in-process amprelay)


def run_oracle(cases: list[dict[str, Any]], now: int = NOW_MS) -> dict[str, dict]:
    cmd = ["node", ORACLE, "--now", str(now)] + (["--raw"] if RAW["on"] else [])
    out, err = _run_engine(cmd, cases, timeout=600)
    if err:
        raise RuntimeError(f"oracle failed: {err}")
    return out


def amprelay_cmd(now: int = NOW_MS) -> list[str]:
    exe = os.path.join(ROOT, ".venv", "bin", "amprelay")
    return [exe, "preview", "--jsonl", "--now", str(now)]


def run_amprelay(cases: list[dict[str, Any]], now: int = NOW_MS, chunk: int = 0) -> tuple[dict[str, dict], list[str]]:
    """Answers by id, plus notes about crashes. preview answers in input order, so when the process dies
    the first unanswered case is the one that killed it: it is recorded as "no answer" and the run resumes
    after it (one process per crash)."""
    notes: list[str] = []
    out: dict[str, dict] = {}
    rest = list(cases)
    while rest:
        got, err = _run_engine(amprelay_cmd(now), rest, timeout=1800)
        out.update(got)
        idx = next((i for i, c in enumerate(rest) if c["id"] not in got), None)
        if idx is None:
            break
        last = (err.strip().splitlines() or ["no output"])[-1][:300]
        notes.append(f"{rest[idx]['id']}: no answer ({last})")
        rest = rest[idx + 1:]
    return out, notes


def amprelay_available() -> tuple[bool, str]:
    exe = amprelay_cmd()[0]
    if not os.path.exists(exe):
        return False, f"{exe} not found"
    probe = {"id": "probe", "kind": "trigger", "trigger": 'type = "track"', "event": {"type": "track"}}
    out, err = _run_engine(amprelay_cmd(), [probe], timeout=120)
    if "probe" in out and "match" in out["probe"]:
        return True, ""
    return False, err or "amprelay preview --jsonl gave no answer"


# --------------------------------------------------------------------------------------------------
# comparing, classifying, minimizing
# --------------------------------------------------------------------------------------------------

UA_KEYS = {"os_name", "os_version", "device_manufacturer", "device_model", "device_type", "user_agent"}
DATE_KEYS = {"time", "session_id"}
_IDX = re.compile(r"\[\d+\]")


def norm_path(p: str) -> str:
    return _IDX.sub("[]", p)


def _uses_proto(case: dict[str, Any]) -> bool:
    text = _dumps([case.get("mapping"), case.get("trigger"), case.get("event")])
    return any(n in text for n in PROTO_NAMES)


def _uses_liquid(obj: Any) -> bool:
    return "@liquid" in _dumps(obj)


def classify(case: dict[str, Any], exp: dict[str, Any], act: dict[str, Any] | None, diffs: list[tuple]) -> str:
    kind = case.get("kind")
    if act is None:
        return "crash / no answer"
    if diffs and diffs[0][0] == "error" and _uses_liquid(case.get("mapping")):
        return "mapping-kit"
    if diffs and diffs[0][0].endswith((".raw", ".contentType")) or (diffs and diffs[0][0] == "raw"):
        return "wire bytes"
    if "Cannot destructure property 'personas'" in _dumps(exp.get("error")):
        return "action assembly"
    if _uses_proto(case):
        return "JS prototype lookups"
    if kind == "trigger":
        return "trigger"
    if kind == "mapping":
        return "mapping-kit"
    first = diffs[0][0]
    if first == "error":
        e = exp.get("error") or {}
        a = act.get("error") or {}
        name = e.get("name") if exp.get("error") else None
        msg = str(a.get("message", "") if isinstance(a, dict) else a)
        if name == "AggregateAjvError" or (not name and re.search(r"must be|required field|valid date", msg)):
            return "ajv coercion"
        if name in ("AggregateError", "Error") or (not name and re.search(r"@[a-z]+|directive|ValidationError", msg)):
            return "mapping-kit"
        return "action assembly"
    paths = [d[0] for d in diffs]
    leaf_keys = [re.split(r"[.\[]", p.rstrip("]"))[-1] for p in paths]
    if any(k in DATE_KEYS for k in leaf_keys):
        return "dates"
    if any(k in UA_KEYS for k in leaf_keys):
        return "UA"
    for _p, ev, av in diffs:
        if (compare.is_num(ev) and isinstance(av, str)) or (compare.is_num(av) and isinstance(ev, str)) \
                or (isinstance(ev, bool) != isinstance(av, bool)):
            return "ajv coercion"
    mapping = case.get("mapping")
    if isinstance(mapping, dict):
        for k in leaf_keys:
            v = mapping.get(k)
            if isinstance(v, dict) and any(x in v for x in ("@template", "@case", "@replace", "@json", "@flatten", "@merge",
                                                             "@transform", "@excludeWhenNull", "@liquid", "@literal")):
                return "mapping-kit"
    return "action assembly"


def signature(case: dict[str, Any], exp: dict[str, Any], act: dict[str, Any] | None, diffs: list[tuple]) -> tuple[str, str]:
    cause = classify(case, exp, act, diffs)
    if act is None:
        return cause, "no answer"
    first = diffs[0]
    p = re.sub(r"^result\.f\d+", "result.fN", norm_path(first[0]))
    if p == "error" and _uses_liquid(case.get("mapping")) and not exp.get("error") \
            and "liquid" in str((act.get("error") or {}).get("message", "")).lower():
        return cause, "@liquid: amprelay errors (liquid not supported), reference renders"
    if p == "error":
        if exp.get("error"):
            who, err = "reference errors, amprelay does not", exp.get("error")
        else:
            who, err = "amprelay errors, reference does not", act.get("error")
        msg = err.get("message", "") if isinstance(err, dict) else str(err)
        msg = re.sub(r"\d+", "N", str(msg))[:90]
        return cause, f"{who}: {msg}"
    if case.get("kind") == "trigger":
        return cause, f"match expected {exp.get('match')}"
    if cause == "wire bytes":
        return cause, f"{p} [{case.get('action')}]"
    return cause, f"{p} [{case.get('action', case.get('kind'))}]"


_MAX_SAFE = 2**53
PRECISION_ONLY: list[str] = []  # ids whose answers differ only in integers beyond 2**53 (equal as doubles)


def as_doubles(obj: Any) -> Any:
    """Integers beyond 2**53 as floats: JavaScript has only doubles, so ``9007199254740993`` in the input is
    ``9007199254740992`` in the reference and ``1152921504606846976`` prints as ``1152921504606847000``."""
    t = type(obj)
    if t is int and not -_MAX_SAFE <= obj <= _MAX_SAFE:
        return float(obj)
    if t is dict:
        return {k: as_doubles(v) for k, v in obj.items()}
    if t is list:
        return [as_doubles(v) for v in obj]
    return obj


def compare_answers(e: dict[str, Any], a: dict[str, Any] | None) -> list[tuple]:
    if a is None:
        return [("missing", "<answer>", "<absent>")]
    diffs = compare.compare_case(e, a)
    if diffs:
        d2 = compare.compare_case(as_doubles(e), as_doubles(a))
        if not d2:
            PRECISION_ONLY.append(e.get("id"))
        return d2
    return diffs


def _first_difference(x: str, y: str, ctx: int = 40) -> tuple[str, str]:
    i = 0
    while i < min(len(x), len(y)) and x[i] == y[i]:
        i += 1
    lo = max(0, i - ctx)
    return f"@{i}: ...{x[lo:i + ctx]}...", f"@{i}: ...{y[lo:i + ctx]}..."


def raw_diffs(case: dict[str, Any], e: dict[str, Any]) -> list[tuple]:
    """Byte-for-byte check of an action case the decoded comparison found identical: the reference's
    body text and content type (run.js --raw) against amprelay's ``Request.body_bytes()``."""
    if case.get("kind") != "action" or e.get("error") or not e.get("requests"):
        return []
    try:
        from amprelay.destination import Settings
        from amprelay.destination.js import js_json_loads
        from amprelay.engine import CompiledAction
        c = js_json_loads(_dumps(case))
        reqs = CompiledAction(c["action"], c.get("mapping")).run(c["event"], Settings.from_dict(c.get("settings")), NOW_MS)
    except Exception as exc:  # noqa: BLE001 - report, never crash the fuzzer
        return [("raw", "<requests>", f"amprelay in-process run failed: {type(exc).__name__}: {exc}")]
    out = []
    for i, (er, ar) in enumerate(zip(e["requests"], reqs, strict=False)):
        if "raw" not in er:
            continue
        if er.get("contentType") != ar.content_type:
            out.append((f"requests[{i}].contentType", er.get("contentType"), ar.content_type))
        mine = ar.body_bytes().decode("utf-8", "replace")
        if er["raw"] != mine:
            x, y = _first_difference(er["raw"], mine)
            out.append((f"requests[{i}].raw", x, y))
    return out


def full_diffs(case: dict[str, Any], e: dict[str, Any], a: dict[str, Any] | None) -> list[tuple]:
    diffs = compare_answers(e, a)
    if not diffs and RAW["on"]:
        diffs = raw_diffs(case, e)
    return diffs


def diff_all(cases: list[dict[str, Any]], exp: dict[str, dict], act: dict[str, dict]) -> list[dict[str, Any]]:
    out = []
    for c in cases:
        e = exp.get(c["id"])
        if e is None:
            continue
        a = act.get(c["id"])
        diffs = full_diffs(c, e, a)
        if diffs:
            out.append({"case": c, "expected": e, "actual": a, "diffs": diffs, "sig": signature(c, e, a, diffs)})
    return out


def _leaf_paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(prefix + (k,))
            out.extend(_leaf_paths(v, prefix + (k,)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(prefix + (i,))
            out.extend(_leaf_paths(v, prefix + (i,)))
    return out


def _without(obj: Any, path: tuple) -> Any:
    new = copy.deepcopy(obj)
    cur = new
    for k in path[:-1]:
        cur = cur[k]
    if isinstance(cur, list):
        del cur[path[-1]]
    else:
        del cur[path[-1]]
    return new


def _without_many(obj: Any, paths: list[tuple]) -> Any:
    new = copy.deepcopy(obj)
    for path in paths:
        cur = new
        for k in path[:-1]:
            cur = cur.get(k) if isinstance(cur, dict) else None
        if isinstance(cur, dict):
            cur.pop(path[-1], None)
    return new


def _chunk_candidates(case: dict[str, Any]) -> list[dict[str, Any]]:
    """Remove many dict keys at once (halves and quarters of the event's and mapping's upper keys)."""
    out = []
    for part in ("event", "mapping"):
        obj = case.get(part)
        if not isinstance(obj, dict):
            continue
        paths = [p for p in _leaf_paths(obj) if len(p) <= 2 and all(isinstance(k, str) for k in p)]
        for n in (2, 4, 8):
            if len(paths) < n:
                break
            size = (len(paths) + n - 1) // n
            for i in range(0, len(paths), size):
                c = copy.deepcopy(case)
                c[part] = _without_many(obj, paths[i:i + size])
                out.append(c)
    return out


def _candidates(case: dict[str, Any], defaults: dict[str, Any]) -> list[dict[str, Any]]:
    cands = _chunk_candidates(case)
    if case.get("kind") == "action" and case.get("mapping") is None:
        c = copy.deepcopy(case)
        c["mapping"] = copy.deepcopy(defaults.get(case["action"], {}))
        return [c]
    if case.get("kind") == "action" and isinstance(case.get("settings"), dict):
        for k in list(case["settings"]):
            c = copy.deepcopy(case)
            del c["settings"][k]
            cands.append(c)
    if isinstance(case.get("mapping"), dict):
        for k in list(case["mapping"]):
            c = copy.deepcopy(case)
            del c["mapping"][k]
            cands.append(c)
    ev = case.get("event")
    if isinstance(ev, dict):
        # coarse first (whole subtrees), then leaves; children of a removed node are never both tried
        for path in sorted(_leaf_paths(ev), key=len):
            c = copy.deepcopy(case)
            c["event"] = _without(ev, path)
            cands.append(c)
    return cands


def minimize(failures: list[dict[str, Any]], defaults: dict[str, Any], rounds: int = 40, log=print) -> list[dict[str, Any]]:
    """Greedy shrinking of one representative per signature, batched: each round builds every
    one-removal candidate of every case still shrinking, runs both engines once on all of them, and keeps
    per case the smallest candidate that still differs with the same signature."""
    current = {i: f for i, f in enumerate(failures)}
    active = set(current)
    for rnd in range(rounds):
        if not active:
            break
        batch: list[dict[str, Any]] = []
        owner: dict[str, int] = {}
        for i in sorted(active):
            for j, cand in enumerate(_candidates(current[i]["case"], defaults)[:500]):
                cand["id"] = f"min-{i}-{rnd}-{j}"
                owner[cand["id"]] = i
                batch.append(cand)
        if not batch:
            break
        exp = run_oracle(batch)
        act, _ = run_amprelay(batch)
        best: dict[int, dict[str, Any]] = {}
        for cand in batch:
            i = owner[cand["id"]]
            e, a = exp.get(cand["id"]), act.get(cand["id"])
            if e is None or a is None:
                continue
            diffs = full_diffs(cand, e, a)
            if not diffs or signature(cand, e, a, diffs) != current[i]["sig"]:
                continue
            size = len(_dumps(cand))
            if i not in best or size < best[i]["size"]:
                best[i] = {"case": cand, "expected": e, "actual": a, "diffs": diffs, "sig": current[i]["sig"], "size": size}
        progressed = set()
        for i, b in best.items():
            if b["size"] < len(_dumps(current[i]["case"])) or current[i]["case"].get("mapping") is None:
                current[i] = b
                progressed.add(i)
        log(f"  minimize round {rnd + 1}: {len(batch)} candidates, {len(progressed)} cases shrank")
        active = progressed
    out = []
    for i, f in enumerate(failures):
        m = dict(current[i])
        if current[i] is not f and m.get("actual") is not None:
            new_id = f["case"]["id"] + "~min"
            m["case"] = {**m["case"], "id": new_id}
            m["expected"] = {**m["expected"], "id": new_id}
            m["actual"] = {**m["actual"], "id": new_id}
        out.append(m)
    return out


# --------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------

CAUSE_ORDER = ["mapping-kit", "ajv coercion", "dates", "UA", "trigger", "action assembly", "wire bytes",
               "JS prototype lookups",
               "crash / no answer"]


def _clip(obj: Any, limit: int = 3000) -> str:
    s = _dumps(obj)
    return s if len(s) <= limit else s[:limit] + f" ... ({len(s)} chars)"


def write_report(path: str, header: list[str], failures: list[dict[str, Any]], minimized: dict[tuple, dict[str, Any]],
                 totals: dict[str, tuple[int, int]]) -> None:
    by_cause: dict[str, dict[tuple, list[dict]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for f in failures:
        by_cause[f["sig"][0]][f["sig"]].append(f)
    lines = ["# Differential fuzzing: reference (dev/oracle) vs amprelay", ""] + header + [""]
    lines.append("| kind | cases | identical | differing |")
    lines.append("| --- | --- | --- | --- |")
    for k, (ok, tot) in totals.items():
        lines.append(f"| {k} | {tot} | {ok} | {tot - ok} |")
    lines.append("")
    lines.append("Mismatches by likely cause (heuristic: error kind, differing key, directive in the mapping):")
    lines.append("")
    for cause in sorted(by_cause, key=lambda c: CAUSE_ORDER.index(c) if c in CAUSE_ORDER else 99):
        n = sum(len(v) for v in by_cause[cause].values())
        lines.append(f"* **{cause}**: {n} cases, {len(by_cause[cause])} distinct signatures")
    lines.append("")
    for cause in sorted(by_cause, key=lambda c: CAUSE_ORDER.index(c) if c in CAUSE_ORDER else 99):
        sigs = by_cause[cause]
        lines.append(f"## {cause}")
        lines.append("")
        for sig, fs in sorted(sigs.items(), key=lambda kv: -len(kv[1])):
            rep = minimized.get(sig) or fs[0]
            lines.append(f"### {sig[1]} — {len(fs)} case(s)")
            lines.append("")
            ids = ", ".join(f"`{f['case']['id']}`" for f in fs[:6]) + (" ..." if len(fs) > 6 else "")
            lines.append(f"Cases: {ids}")
            lines.append("")
            for p, ev, av in rep["diffs"][:6]:
                lines.append(f"* `{p}`: reference `{compare.fmt(ev, 160)}` | amprelay `{compare.fmt(av, 160)}`")
            lines.append("")
            lines.append("Smallest case found:" if sig in minimized else "Case:")
            lines.append("```json")
            lines.append(_clip(rep["case"]))
            lines.append("```")
            lines.append("Reference answer:")
            lines.append("```json")
            lines.append(_clip(rep["expected"]))
            lines.append("```")
            lines.append("amprelay answer:")
            lines.append("```json")
            lines.append(_clip(rep["actual"]))
            lines.append("```")
            lines.append("")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------

def write_extra(seed: int, counts: dict[str, int], out_dir: str) -> None:
    """Reference answers for seeded generated cases (no Object.prototype names: those quirks are listed in
    /work/notes/oracle-diffs.md instead of being pinned as tests)."""
    drop_prototype_names()
    fields = dump_actions()["actions"]
    os.makedirs(os.path.join(out_dir, "cases"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "expected"), exist_ok=True)
    for kind, n in counts.items():
        cases = generate(kind, n, seed + {"action": 0, "trigger": 1000, "mapping": 2000, "ua": 3000}[kind], fields)
        exp = run_oracle(cases)
        name = EXTRA_NAMES[kind]
        write_jsonl(cases, os.path.join(out_dir, "cases", f"{name}.jsonl"))
        write_jsonl([exp[c["id"]] for c in cases], os.path.join(out_dir, "expected", f"{name}.jsonl"))
        errs = sum(1 for c in cases if exp[c["id"]].get("error"))
        print(f"{name}: {n} cases ({errs} with an error answer) -> {out_dir}/cases/{name}.jsonl, expected/{name}.jsonl")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=1000, help="cases per kind")
    ap.add_argument("--kinds", default="action,trigger,mapping")
    ap.add_argument("--now", type=int, default=NOW_MS)
    ap.add_argument("--generate-only", action="store_true", help="write the generated cases as JSONL to stdout")
    ap.add_argument("--oracle-only", action="store_true", help="generate and print the reference's answers")
    ap.add_argument("--save", metavar="DIR", help="also save cases/, expected/ (reference) and actual/ (amprelay) here")
    ap.add_argument("--minimize", action="store_true", help="shrink one case per distinct mismatch signature")
    ap.add_argument("--report", metavar="PATH", help="write a markdown report of the mismatches")
    ap.add_argument("--show", type=int, default=3, help="differing cases to print per signature")
    ap.add_argument("--raw", action="store_true",
                    help="also compare action bodies byte for byte (key order, number text, form encoding) with "
                         "amprelay run in-process")
    ap.add_argument("--no-proto", action="store_true",
                    help="never use Object.prototype names (constructor, __proto__, toString, ...) as paths or keys")
    ap.add_argument("--no-liquid", action="store_true",
                    help="never generate @liquid (a known gap would otherwise hide other differences in the same case)")
    ap.add_argument("--write-extra", action="store_true",
                    help=f"regenerate {os.path.relpath(EXTRA_DIR, ROOT)} (seed {EXTRA_SEED}, counts {EXTRA_COUNTS})")
    a = ap.parse_args(argv)

    if a.write_extra:
        write_extra(EXTRA_SEED, EXTRA_COUNTS, EXTRA_DIR)
        return 0
    kinds = [k.strip() for k in a.kinds.split(",") if k.strip()]
    if a.no_liquid:
        DIRECTIVE_KINDS[:] = [k for k in DIRECTIVE_KINDS if k != "@liquid"]
    if a.no_proto:
        drop_prototype_names()
    RAW["on"] = a.raw
    info = dump_actions()
    fields = info["actions"]
    cases: list[dict[str, Any]] = []
    gen_kind: dict[str, str] = {}
    for i, kind in enumerate(kinds):
        for c in generate(kind, a.n, a.seed * 7919 + i * 104729, fields):
            gen_kind[c["id"]] = kind
            cases.append(c)
    if a.generate_only:
        for c in cases:
            sys.stdout.write(_dumps(c) + "\n")
        return 0
    exp = run_oracle(cases, a.now)
    if a.oracle_only:
        for c in cases:
            sys.stdout.write(_dumps(exp[c["id"]]) + "\n")
        return 0
    ok, why = amprelay_available()
    if not ok:
        print(f"amprelay preview is not available yet ({why}); reference answers computed for {len(cases)} cases")
        print("parity: 0/0")
        return 1
    act, notes = run_amprelay(cases, a.now)
    for n in notes[:5]:
        print("note:", n)
    if len(notes) > 5:
        print(f"note: ... {len(notes) - 5} more cases without an answer")
    if a.save:
        for sub in ("cases", "expected", "actual"):
            os.makedirs(os.path.join(a.save, sub), exist_ok=True)
        for kind in kinds:
            ks = [c for c in cases if gen_kind[c["id"]] == kind]
            write_jsonl(ks, os.path.join(a.save, "cases", f"{kind}.jsonl"))
            write_jsonl([exp[c["id"]] for c in ks], os.path.join(a.save, "expected", f"{kind}.jsonl"))
            write_jsonl([act[c["id"]] for c in ks if c["id"] in act], os.path.join(a.save, "actual", f"{kind}.jsonl"))
    failures = diff_all(cases, exp, act)
    totals: dict[str, tuple[int, int]] = {}
    for kind in kinds:
        tot = sum(1 for c in cases if gen_kind[c["id"]] == kind)
        bad = sum(1 for f in failures if gen_kind[f["case"]["id"]] == kind)
        totals[kind] = (tot - bad, tot)
    sigs: dict[tuple, list[dict]] = collections.defaultdict(list)
    for f in failures:
        sigs[f["sig"]].append(f)
    causes = collections.Counter(f["sig"][0] for f in failures)
    for kind, (ok_n, tot) in totals.items():
        print(f"== {kind}: {ok_n}/{tot} identical")
    if PRECISION_ONLY:
        print(f"note: {len(PRECISION_ONLY)} answers differ only in integers beyond 2**53 that are equal as doubles "
              f"(counted identical), e.g. {PRECISION_ONLY[:3]}")
    print("by cause: " + (", ".join(f"{c} {n}" for c, n in causes.most_common()) or "none"))
    for sig, fs in sorted(sigs.items(), key=lambda kv: -len(kv[1])):
        print(f"-- [{sig[0]}] {sig[1]}: {len(fs)}")
        for f in fs[: a.show]:
            print(f"   - {f['case']['id']}")
            for p, ev, av in f["diffs"][:4]:
                print(f"       {p}: expected {compare.fmt(ev)} | actual {compare.fmt(av)}")
    minimized: dict[tuple, dict[str, Any]] = {}
    if a.minimize and sigs:
        reps = [fs[0] for fs in sigs.values() if fs[0]["actual"] is not None]  # crashes are not shrunk
        print(f"minimizing {len(reps)} representative cases ...")
        defaults = {k: {f: copy.deepcopy(d["default"]) for f, d in v["fields"].items() if d.get("default") is not None}
                    for k, v in fields.items()}
        for m in minimize(reps, defaults, log=print):
            minimized[m["sig"]] = m
    if a.report:
        header = [f"Generated by `.venv/bin/python dev/difffuzz.py --seed {a.seed} --n {a.n} --kinds {a.kinds}"
                  f"{' --no-liquid' if a.no_liquid else ''}{' --no-proto' if a.no_proto else ''}{' --raw' if a.raw else ''}"
                  f"{' --minimize' if a.minimize else ''} --report {a.report}`"
                  f" (clock {a.now}).",
                  "Reference: @segment/action-destinations 3.497.0 / actions-core 3.170.0 / destination-subscriptions "
                  "3.37.0 via dev/oracle/run.js. amprelay: `.venv/bin/amprelay preview --jsonl`. Comparison rules: "
                  "tests/conformance/compare.py (errors compared by presence only)."]
        if PRECISION_ONLY:
            header.append("")
            header.append(f"* {len(PRECISION_ONLY)} answers differed only in integers beyond 2**53 that are equal as "
                          f"doubles (amprelay keeps the exact integer, the reference prints the double, e.g. "
                          f"`1152921504606846976` vs `1152921504606847000`); counted identical here. Examples: "
                          + ", ".join(f"`{i}`" for i in PRECISION_ONLY[:5]))
        if notes:
            header.append("")
            grouped: dict[str, list[str]] = collections.defaultdict(list)
            for n in notes:
                cid, _, why = n.partition(": ")
                grouped[why].append(cid)
            for why, ids in grouped.items():
                header.append(f"* amprelay gave no answer ({why}) for {len(ids)} case(s): "
                              + ", ".join(f"`{i}`" for i in ids[:5]) + (" ..." if len(ids) > 5 else ""))
        write_report(a.report, header, failures, minimized, totals)
        print(f"report written to {a.report}")
    n_ok = sum(v[0] for v in totals.values())
    n_tot = sum(v[1] for v in totals.values())
    print(f"parity: {n_ok}/{n_tot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
