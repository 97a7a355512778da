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
  matomo        (only with --matomo, not committed: LGPL-3.0 fixtures) PyPI device-detector
                device_detector/tests/fixtures/upstream/*.yml

Setup (in /tmp, nothing here is committed):
    mkdir -p /tmp/uacorpus && cd /tmp/uacorpus && npm init -y &&
      npm install --ignore-scripts top-user-agents crawler-user-agents user-agents
    pip download --no-deps -d /tmp/uacorpus/pypi fake-useragent==2.2.0 device-detector==6.5.1
    (unzip each wheel into /tmp/uacorpus/pypi/<name>/)

Usage:
    python dev/ua_corpus.py > dev/ua_corpus.jsonl
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
        ]
    seen: set[str] = set()
    out = sys.stdout
    for tag, uas in sources:
        for ua in uas:
            if ua in seen:
                continue
            seen.add(ua)
            out.write(json.dumps({"ua": ua, "src": tag}, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
