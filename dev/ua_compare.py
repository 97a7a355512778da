"""Check amprelay's user-agent parser against the reference (@amplitude/ua-parser-js 0.7.25).

Runs dev/ua_oracle.js (Node + the npm package, see its header for the one-time setup) over a
corpus of user agents and compares, for each, amprelay.destination.useragent's answers with the
oracle's: the five Amplitude properties (os_name, os_version, device_manufacturer, device_model,
device_type) and, with --full, every raw field (browser name/version/major, os name/version,
device vendor/model/type). Prints the agreement counts and the differing user agents.

Usage:
    .venv/bin/python dev/ua_compare.py                       # dev/ua_corpus.jsonl + conformance cases
    .venv/bin/python dev/ua_compare.py --fuzz 20000          # plus seeded mutations of the corpus
                                                             # (case, cuts, splices, odd characters,
                                                             # >255 units, astral/lone surrogates)
    .venv/bin/python dev/ua_compare.py --full FILE.jsonl ... # other corpora ({"ua": ...} lines
                                                             # or JSON strings), e.g. from ua_corpus.py
    .venv/bin/python dev/ua_compare.py --record dev/ua_corpus.jsonl
                            # store the oracle's answers in the corpus ("expected": the five
                            # properties, "raw": browser/os/device), which
                            # tests/destination/test_useragent.py checks without Node
Exits 0 when everything agrees, 1 when something differs, 2 when the oracle is not installed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "src"))

from amprelay.destination.useragent import parse_user_agent, parse_user_agent_properties  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "dev"))
from ua_corpus import fuzz_uas  # noqa: E402

ORACLE = os.path.join(REPO, "dev", "ua_oracle.js")


def load_corpus(path: str) -> list[str]:
    uas: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            item = json.loads(line)
            if isinstance(item, dict):
                if "ua" in item:
                    item = item["ua"]
                else:  # a conformance case
                    event = item.get("event") or {}
                    context = event.get("context") if isinstance(event, dict) else None
                    item = context.get("userAgent") if isinstance(context, dict) else None
            if isinstance(item, str):
                uas.append(item)
    return uas


def run_oracle(uas: list[str], oracle_dir: str) -> list[dict]:
    payload = "".join(json.dumps(ua) + "\n" for ua in uas)
    env = dict(os.environ, UA_ORACLE_DIR=oracle_dir)
    proc = subprocess.run(["node", ORACLE], input=payload, capture_output=True, text=True, env=env,
                          check=True)
    rows = [json.loads(line) for line in proc.stdout.split("\n") if line]  # not splitlines(): U+2028
    if len(rows) != len(uas):
        raise SystemExit(f"oracle answered {len(rows)} lines for {len(uas)} user agents")
    return rows


def _raw(ua: str) -> dict:
    full = parse_user_agent(ua)
    # JSON-like: undefined (None) is left out, as in the oracle's output.
    return {part: {k: v for k, v in fields.items() if v is not None} for part, fields in full.items()}


def compare(name: str, uas: list[str], oracle_dir: str, full: bool, show: int) -> bool:
    rows = run_oracle(uas, oracle_dir)
    props_ok = raw_ok = 0
    diffs: list[tuple[str, object, object]] = []
    for ua, row in zip(uas, rows, strict=True):
        got = parse_user_agent_properties(ua)
        same = got == row["props"] and list(got) == list(row["props"])
        props_ok += same
        if full:
            raw = _raw(ua)
            expected_raw = {k: row[k] for k in ("browser", "os", "device")}
            raw_same = raw == expected_raw
            raw_ok += raw_same
            if not raw_same:
                diffs.append((ua, expected_raw, raw))
                continue
        if not same:
            diffs.append((ua, row["props"], got))
    n = len(uas)
    line = f"{name}: properties agree {props_ok}/{n} ({100 * props_ok / max(n, 1):.2f}%)"
    if full:
        line += f"; all raw fields agree {raw_ok}/{n} ({100 * raw_ok / max(n, 1):.2f}%)"
    print(line)
    for ua, expected, got in diffs[:show]:
        print(f"  UA {ua!r}\n    reference {json.dumps(expected, ensure_ascii=False)}\n"
              f"    amprelay  {json.dumps(got, ensure_ascii=False)}")
    if len(diffs) > show:
        print(f"  ... {len(diffs) - show} more")
    return not diffs


def record(path: str, oracle_dir: str) -> None:
    with open(path, encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh if line.strip()]
    rows = run_oracle([item["ua"] for item in items], oracle_dir)
    with open(path, "w", encoding="utf-8") as fh:
        for item, row in zip(items, rows, strict=True):
            entry = {"ua": item["ua"], "src": item.get("src"), "expected": row["props"],
                     "raw": {k: row[k] for k in ("browser", "os", "device")}}
            fh.write(json.dumps(entry) + "\n")
    print(f"recorded the oracle's answers for {len(items)} user agents in {path}")


def main() -> int:
    ap = argparse.ArgumentParser(description="Compare amprelay's UA parsing with the reference's.")
    ap.add_argument("corpora", nargs="*", help="JSONL files (default: dev/ua_corpus.jsonl and the conformance cases)")
    ap.add_argument("--oracle-dir", default=os.environ.get("UA_ORACLE_DIR", "/tmp/uaoracle"))
    ap.add_argument("--full", action="store_true", help="also compare every raw parser field")
    ap.add_argument("--show", type=int, default=20, help="how many differences to print per corpus")
    ap.add_argument("--record", metavar="CORPUS", help="write the oracle's answers into CORPUS and stop")
    ap.add_argument("--fuzz", type=int, default=0, help="also compare N seeded mutations of the corpus")
    args = ap.parse_args()

    package = os.path.join(args.oracle_dir, "node_modules", "@amplitude", "ua-parser-js", "package.json")
    if shutil.which("node") is None or not os.path.exists(package):
        print(f"oracle not installed (need node and {package}); see dev/ua_oracle.js", file=sys.stderr)
        return 2
    if args.record:
        record(args.record, args.oracle_dir)
        return 0
    corpora = args.corpora or [os.path.join(REPO, "dev", "ua_corpus.jsonl")] + sorted(
        glob.glob(os.path.join(REPO, "tests", "conformance", "cases", "*.jsonl")))
    ok = True
    if args.corpora:
        for path in corpora:
            ok &= compare(os.path.relpath(path, REPO), load_corpus(path), args.oracle_dir, args.full, args.show)
    else:
        ok &= compare("dev/ua_corpus.jsonl", load_corpus(corpora[0]), args.oracle_dir, args.full, args.show)
        conformance = sorted({ua for path in corpora[1:] for ua in load_corpus(path)})
        ok &= compare("conformance cases (distinct UAs)", conformance, args.oracle_dir, args.full, args.show)
    if args.fuzz:
        seeds = [ua for path in corpora for ua in load_corpus(path) if ua]
        ok &= compare(f"fuzz ({args.fuzz} mutations)", fuzz_uas(seeds, args.fuzz), args.oracle_dir, args.full,
                      args.show)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
