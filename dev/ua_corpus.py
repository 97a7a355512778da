"""Build the user-agent corpus used to check amprelay's UA parser against the reference.

The corpus is a JSONL file, one object a line: {"ua": <user agent>, "src": <source tag>},
distinct user agents only, first source wins. Sources (all shipped in registry packages,
installed outside the repo; licences noted so the committed corpus stays redistributable):

  conformance   tests/conformance/cases/*.jsonl: every context.userAgent (this project)
  uaparserjs    @amplitude/ua-parser-js 0.7.25 test/*.json (MIT)
  top           npm top-user-agents src/*.json (MIT)
  crawlers      npm crawler-user-agents crawler-user-agents.json "instances" (MIT)
  useragents    npm user-agents dist/user-agents.json (BSD-2-Clause)
  fakeua        PyPI fake-useragent fake_useragent/data/browsers.jsonl (Apache-2.0)
  edge          hand-written edge cases (EDGE_CASES below)
  fuzz          1000 seeded mutations of all the above (fuzz_uas below)
  matomo        (only with --matomo, not committed: LGPL-3.0 fixtures) PyPI device-detector
                device_detector/tests/fixtures/upstream/*.yml

Setup (in /tmp, nothing here is committed):
    mkdir -p /tmp/uacorpus && cd /tmp/uacorpus && npm init -y &&
      npm install --ignore-scripts top-user-agents crawler-user-agents user-agents
    pip download --no-deps -d /tmp/uacorpus/pypi fake-useragent==2.2.0 device-detector==6.5.1
    (unzip each wheel into /tmp/uacorpus/pypi/<name>/)

Usage:
    python dev/ua_corpus.py > dev/ua_corpus.jsonl
    python dev/ua_compare.py --record dev/ua_corpus.jsonl   # add the oracle's answers (see there)
    python dev/ua_corpus.py --matomo-only > /tmp/ua_corpus_matomo.jsonl
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from collections.abc import Iterator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


EDGE_CASES = [
    # Hand-written cases aimed at the JS/Python differences the port must get right.
    "HbbTV/1.1.1 (; Samsung; ;;) ",  # trim() keeps an empty model
    "HbbTV/1.1.1 (  ;  LG ; NetCast ;;)",
    "HbbTV/1.1.1 (;;;;;) Maple;2011",
    "Mozilla/5.0 (Linux; Android 9; SM-G960F\rBuild/X) AppleWebKit/537.36 Chrome/80.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 9; SM-G960F\u2028Build/X) AppleWebKit/537.36 Chrome/80.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
    + "\U0001f600" * 80,  # cut at 255 UTF-16 units, inside the astral characters
    "\U0001f600" * 127 + "\U0001f600x Chrome/99.0",
    "x" * 254 + "\U0001f600" + " (iPhone; ) Chrome/1.0",  # the cut splits a surrogate pair
    "Mozilla/5.0 (Linux; Android 10; K\U0001f600) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
    "   \u00a0\ufeffMozilla/5.0 (X11; Linux x86_64) Firefox/120.0" + " " * 300,  # JS trim before the cut
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\n",
    "waterfox/56.2.0\n",  # JS $ does not match before a final newline
    "Mozilla/5.0 (X11; Linux x86_64) seamonkey/2.53.0",
    "Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/125.2 (KHTML, like Gecko) Safari/125.8",
    "Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/418 (KHTML, like Gecko) Safari/419.3",
    "Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/85 (KHTML, like Gecko) Safari/85.7",
    "Opera/9.80 (Windows NT 6.1) Presto/2.12 Version/abc",  # major ""
    "Mozilla/5.0 AVG/90.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 4.4; SD4930UR Build/x) Silk/3.67 like Chrome",
    "Mozilla/5.0 (Linux; U; Android 4.1.2; ru-ru; 2013023 Build/HM2013023)",  # backreference
    "Mozilla/5.0 (Linux; Android 7.0; \u0130PHONE) Chrome/80.0",  # no Unicode case folding
    "Mozilla/5.0 (\u212aindle/3.0)",
    "Mozilla/5.0 (Linux; Android 7.0; LG-\u017fH) Chrome/80.0",
    "Mozilla/5.0 (\ud83d) iPhone\ud83d; Chrome/1\ude00",  # lone surrogates
    "Mozilla/5.0 (Linux; Android 12; M2101K6G \ud83d\ude00) AppleWebKit/537.36 Chrome/99.0 Mobile Safari/537.36",
    "MyApp/1.2.3 (iPhone; iOS 17.0; Scale/3.00)",
    "okhttp/4.9.3",
    "curl/8.4.0",
    "unknown",
]


def edge() -> Iterator[str]:
    yield from EDGE_CASES


_ODD = ["\r", "\n", "\u2028", "\u00a0", "\ufeff", " ", "\t", ";", ")", "(", "/", "_", "-", ".", "\u0130",
        "\u017f", "\u212a", "\u00e9", "\U0001f600", "\ud83d", "\ude00", "0", "9", "x", "K", "s", "\\", "$"]


def fuzz_uas(seeds: list[str], count: int, seed: int = 20240101) -> list[str]:
    """Deterministic mutations of real user agents, aimed at the JS/Python regex differences."""
    import random

    rnd = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        ua = rnd.choice(seeds)
        for _ in range(rnd.randint(1, 3)):
            op = rnd.randrange(7)
            if op == 0:
                ua = "".join(c.upper() if rnd.random() < 0.3 else c.lower() for c in ua)
            elif op == 1 and ua:
                i = rnd.randrange(len(ua))
                j = rnd.randrange(i, len(ua) + 1)
                ua = ua[:i] + ua[j:]
            elif op == 2:
                i = rnd.randrange(len(ua) + 1)
                ua = ua[:i] + rnd.choice(_ODD) * rnd.randint(1, 3) + ua[i:]
            elif op == 3:
                other = rnd.choice(seeds)
                i, j = rnd.randrange(len(ua) + 1), rnd.randrange(len(other) + 1)
                ua = ua[:i] + other[j:]
            elif op == 4:
                ua = rnd.choice(["", " ", "\u00a0", "\ufeff"]) * rnd.randint(0, 3) + ua + " " * rnd.randint(0, 300)
            elif op == 5:
                ua = rnd.choice(_ODD) * rnd.randint(200, 260) + ua
            else:
                ua = ua + rnd.choice(_ODD) * rnd.randint(0, 5)
        out.append(ua)
    return out



def conformance() -> Iterator[str]:
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "conformance", "cases", "*.jsonl"))):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                event = json.loads(line).get("event") or {}
                context = event.get("context") if isinstance(event, dict) else None
                ua = context.get("userAgent") if isinstance(context, dict) else None
                if isinstance(ua, str):
                    yield ua


def _walk_json_uas(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key in ("ua", "userAgent", "useragent"):
            value = node.get(key)
            if isinstance(value, str):
                yield value
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _walk_json_uas(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str):
                yield item
            else:
                yield from _walk_json_uas(item)


def uaparserjs(oracle_dir: str) -> Iterator[str]:
    test_dir = os.path.join(oracle_dir, "node_modules", "@amplitude", "ua-parser-js", "test")
    for path in sorted(glob.glob(os.path.join(test_dir, "*.json"))):
        with open(path, encoding="utf-8") as fh:
            yield from _walk_json_uas(json.load(fh))


def top(npm_dir: str) -> Iterator[str]:
    for path in sorted(glob.glob(os.path.join(npm_dir, "node_modules", "top-user-agents", "src", "*.json"))):
        with open(path, encoding="utf-8") as fh:
            yield from _walk_json_uas(json.load(fh))


def crawlers(npm_dir: str) -> Iterator[str]:
    path = os.path.join(npm_dir, "node_modules", "crawler-user-agents", "crawler-user-agents.json")
    with open(path, encoding="utf-8") as fh:
        for entry in json.load(fh):
            yield from entry.get("instances") or []


def useragents(npm_dir: str) -> Iterator[str]:
    path = os.path.join(npm_dir, "node_modules", "user-agents", "dist", "user-agents.json")
    with open(path, encoding="utf-8") as fh:
        for entry in json.load(fh):
            yield entry["userAgent"]


def fakeua(pypi_dir: str) -> Iterator[str]:
    path = os.path.join(pypi_dir, "fake_useragent", "fake_useragent", "data", "browsers.jsonl")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)["useragent"]


def matomo(pypi_dir: str) -> Iterator[str]:
    import yaml  # only needed for this optional source

    fixtures = os.path.join(pypi_dir, "device_detector", "device_detector", "tests", "fixtures", "upstream")
    for path in sorted(glob.glob(os.path.join(fixtures, "*.yml"))):
        with open(path, encoding="utf-8") as fh:
            for entry in yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or []:
                ua = entry.get("user_agent") if isinstance(entry, dict) else None
                if isinstance(ua, str):
                    yield ua


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oracle-dir", default=os.environ.get("UA_ORACLE_DIR", "/tmp/uaoracle"))
    ap.add_argument("--npm-dir", default="/tmp/uacorpus")
    ap.add_argument("--pypi-dir", default="/tmp/uacorpus/pypi")
    ap.add_argument("--matomo-only", action="store_true", help="emit only the (uncommitted) matomo fixtures")
    args = ap.parse_args()

    if args.matomo_only:
        sources = [("matomo", matomo(args.pypi_dir))]
    else:
        sources = [
            ("conformance", conformance()),
            ("uaparserjs", uaparserjs(args.oracle_dir)),
            ("top", top(args.npm_dir)),
            ("crawlers", crawlers(args.npm_dir)),
            ("useragents", useragents(args.npm_dir)),
            ("fakeua", fakeua(args.pypi_dir)),
            ("edge", edge()),
        ]
    seen: set[str] = set()
    out = sys.stdout
    for tag, uas in sources:
        for ua in uas:
            if ua in seen:
                continue
            seen.add(ua)
            out.write(json.dumps({"ua": ua, "src": tag}) + "\n")
    if not args.matomo_only:
        for ua in fuzz_uas(sorted(seen), 1000):
            if ua not in seen:
                seen.add(ua)
                out.write(json.dumps({"ua": ua, "src": "fuzz"}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
