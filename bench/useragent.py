"""Speed of amprelay.destination.useragent: cold parses (cache cleared) and cached parses.

Usage: .venv/bin/python bench/useragent.py
"""

import json
import pathlib
import time

from amprelay.destination import useragent

ROOT = pathlib.Path(__file__).resolve().parents[1]
UAS = [json.loads(line)["ua"] for line in (ROOT / "dev" / "ua_corpus.jsonl").read_text("utf-8").splitlines() if line]


def main() -> None:
    uas = [ua for ua in UAS if ua][:4000]
    useragent.cache_clear()
    t0 = time.perf_counter()
    for ua in uas:
        useragent.parse_user_agent_properties(ua)
    cold = (time.perf_counter() - t0) / len(uas)
    t0 = time.perf_counter()
    rounds = 10
    for _ in range(rounds):
        for ua in uas:
            useragent.parse_user_agent_properties(ua)
    warm = (time.perf_counter() - t0) / (len(uas) * rounds)
    print(f"cold parse: {cold * 1e6:.1f} us/UA ({len(uas)} distinct UAs)")
    print(f"cached parse: {warm * 1e6:.2f} us/UA")


if __name__ == "__main__":
    main()
