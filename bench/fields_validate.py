"""Per-payload cost of amprelay.fields validation (removeEmptyValues + ajv-like coercion) for the
Amplitude actions' fields.

    .venv/bin/python bench/fields_validate.py [--n 20000]

1. A fixed, typical Log Event V2 payload (a web track event resolved with the default mapping).
2. The bench corpus (bench/corpus.py) resolved with each preset-relevant action's default mapping
   (mapping cost excluded), validated in a loop: mean microseconds per payload.
3. The date helpers on their own.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from amprelay.destination import ACTIONS  # noqa: E402
from amprelay.fields import (  # noqa: E402
    PayloadValidationError,
    compile_validator,
    dayjs_utc_value,
    default_mapping,
    is_date_like,
)

LOG_EVENT_V2_PAYLOAD: dict[str, Any] = {
    "user_id": "user1234",
    "device_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "event_type": "Song Played",
    "session_id": 1704067200000,
    "time": "2021-08-17T15:21:15.449Z",
    "event_properties": {"title": "Song", "artist": "Band", "duration": 213.5, "explicit": False},
    "user_properties": {"plan": "pro", "email": "user@example.com"},
    "platform": "Web",
    "language": "en-US",
    "ip": "8.8.8.8",
    "library": "analytics.js",
    "library2": {"behavior": "use_mapping", "mapping": "analytics.js"},
    "setOnce": {"initial_referrer": "https://google.com/", "initial_utm_source": "newsletter"},
    "setAlways": {"referrer": "https://google.com/", "utm_source": "newsletter"},
    "use_batch_endpoint": False,
    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "userAgentParsing": True,
    "includeRawUserAgent": False,
    "userAgentData": {"model": "", "platformVersion": "10.0.0"},
}


def per_call_us(fn: Any, arg: Any, n: int) -> float:
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(arg)
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def corpus_payloads(action: str, n: int) -> list[dict[str, Any]]:
    try:
        from corpus import generate

        from amprelay.mapping import compile_mapping
    except ImportError:
        return []
    mapping = compile_mapping(default_mapping(ACTIONS[action].fields))
    out = []
    for event in generate(n, seed=1):
        try:
            out.append(mapping(event) if callable(mapping) else mapping.evaluate(event))
        except Exception:  # noqa: BLE001 - a mapping error is not what is measured here
            continue
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()

    v2 = compile_validator(ACTIONS["logEventV2"].fields)
    print(f"logEventV2 typical payload ({len(LOG_EVENT_V2_PAYLOAD)} keys): "
          f"{per_call_us(v2, LOG_EVENT_V2_PAYLOAD, args.n):.2f} us/payload (best of 5)")

    for action in ("logEventV2", "logEvent", "logPurchase", "identifyUser", "groupIdentifyUser"):
        payloads = corpus_payloads(action, args.n)
        if not payloads:
            print(f"{action}: corpus or mapping unavailable, skipped")
            continue
        validator = compile_validator(ACTIONS[action].fields)
        valid, invalid = [], []
        for p in payloads:
            try:
                validator(p)
                valid.append(p)
            except PayloadValidationError:
                invalid.append(p)
        for label, group in (("valid", valid), ("rejected", invalid)):
            if not group:
                continue
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                for p in group:
                    try:
                        validator(p)
                    except PayloadValidationError:
                        pass
                best = min(best, (time.perf_counter() - t0) / len(group))
            print(f"{action}: {len(group)} {label} corpus payloads: {best * 1e6:.2f} us/payload")

    for s in ("2021-08-17T15:21:15.449Z", "2023-05-01T12:34:56+05:30", "2023-05-01", "Mon, 01 May 2023 12:00:00 GMT"):
        print(f"dayjs_utc_value({s!r}): {per_call_us(dayjs_utc_value, s, args.n):.2f} us; "
              f"is_date_like: {per_call_us(is_date_like, s, args.n):.2f} us")


if __name__ == "__main__":
    main()
