"""Conformance cases for the timestamp shapes server libraries send, answered by the reference.

    python3 dev/timestamp_cases.py > tests/conformance_extra/cases/timestamps.jsonl
    node dev/oracle/run.js --now 1704067200000 < tests/conformance_extra/cases/timestamps.jsonl \\
        > tests/conformance_extra/expected/timestamps.jsonl

Ingest keeps a timestamp as sent (a number, a digit string, any text); what the destination
makes of it is the reference's business, and these answers pin it.
"""

from __future__ import annotations

import json

SHAPES = {
    "py_iso": "2024-03-15T16:23:05.123456", "py_iso_off": "2024-03-15T16:23:05.123456+00:00",
    "py_iso_noms": "2024-03-15T16:23:05+02:00", "go": "2024-03-15T16:23:05.123456789Z",
    "go_off": "2024-03-15T16:23:05.123456789-07:00", "ruby": "2024-03-15T16:23:05.000+09:00",
    "java": "2024-03-15T16:23:05.123+0000", "epoch_s": 1710520985, "epoch_ms": 1710520985123,
    "epoch_s_str": "1710520985", "epoch_ms_str": "1710520985123", "junk": "yesterday", "float": 1710520985.5,
    "bool": True, "obj": {"a": 1},
}

for name, ts in SHAPES.items():
    for action in ("logEventV2", "identifyUser", "logPurchase"):
        event = {"type": "identify" if action == "identifyUser" else "track", "event": "Test", "userId": "user-1",
                 "anonymousId": "anon-1", "messageId": "m-1", "timestamp": ts,
                 "receivedAt": "2024-03-15T16:23:06.000Z", "properties": {"a": 1}, "traits": {"b": 2}}
        print(json.dumps({"id": f"ts-{name}-{action}", "kind": "action", "action": action,
                          "settings": {"apiKey": "k", "secretKey": "s"}, "mapping": None, "event": event}))
