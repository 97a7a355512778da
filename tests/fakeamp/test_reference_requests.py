"""Every request the reference destination sent in the recorded conformance answers, replayed to the fake.

The fake must accept what Amplitude accepts and record it unchanged; the only rejections allowed are
the ones Amplitude's rules explain (empty api_key, no user_id/device_id of the minimum length,
mappings without a global_user_id). In particular it must never reject a field *type* the reference
produces.
"""

from __future__ import annotations

import glob
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

EXPECTED = sorted(glob.glob(str(Path(__file__).parent.parent / "conformance" / "expected" / "*.jsonl")))


def _requests():
    out = []
    for file in EXPECTED:
        for line in Path(file).read_bytes().splitlines():
            answer = orjson.loads(line)
            for n, req in enumerate(answer.get("requests") or []):
                out.append((f"{answer['id']}#{n}", req))
    return out


REQUESTS = _requests()


def _usable(value, mil):
    return isinstance(value, str) and len(value) >= mil and value.lower() not in ("null", "undefined", "anonymous")


def _min_id_length(options):
    if isinstance(options, dict) and isinstance(options.get("min_id_length"), int):
        return options["min_id_length"]
    return 5


def expected_status(path: str, body: dict) -> int:
    """Amplitude's acceptance rules, restated independently of the fake's code."""
    if not body.get("api_key"):
        return 400
    mil = _min_id_length(body.get("options"))
    if path in ("/2/httpapi", "/batch"):
        ok = all(
            ev.get("event_type") and (_usable(ev.get("user_id"), mil) or _usable(ev.get("device_id"), mil))
            for ev in body["events"]
        )
    elif path == "/identify":
        items = body["identification"]
        items = items if isinstance(items, list) else [items]
        ok = all(_usable(it.get("user_id"), mil) or _usable(it.get("device_id"), mil) for it in items)
    elif path == "/groupidentify":
        ok = all(it.get("group_type") and it.get("group_value") for it in body["identification"])
    else:
        ok = all(it.get("user_id") and (it.get("global_user_id") or it.get("unmap")) for it in body["mapping"])
    return 200 if ok else 400


def _dedupe(items):
    seen = set()
    out = []
    for it in items:
        iid = it.get("insert_id")
        key = (it.get("device_id") or ("u", it.get("user_id")), iid)
        if iid:
            if key in seen:
                continue
            seen.add(key)
        out.append(it)
    return out


@pytest.mark.skipif(not REQUESTS, reason="no recorded conformance answers")
def test_reference_requests_are_answered_like_amplitude(fake):
    fake.configure(max_events_per_request=None)
    client = fake.client
    counts = {200: 0, 400: 0}
    for case_id, req in REQUESTS:
        fake.reset()  # cases are independent: no dedupe across them
        url = urlsplit(req["url"])
        path = url.path
        prefix = "/eu" if ".eu." in url.netloc else ""
        body = req["body"]
        if path in ("/2/httpapi", "/batch"):
            r = client.post(prefix + path, json=body)
        else:
            form = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in body.items()}
            r = client.post(prefix + path, data=form)
        want = expected_status(path, body)
        assert r.status_code == want, (case_id, r.text)
        if r.status_code == 400 and path in ("/2/httpapi", "/batch"):
            assert "events_with_invalid_fields" not in r.json(), (case_id, r.text)
        counts[r.status_code] += 1
        if r.status_code == 200:
            recorded = fake.events()
            assert {(r["path"], r["region"]) for r in recorded} == {(path, "eu" if prefix else "na")}
            if path in ("/2/httpapi", "/batch"):
                sent = body["events"]
            else:
                sent = body["identification" if path != "/usermap" else "mapping"]
                sent = sent if isinstance(sent, list) else [sent]
            # insert_id dedupe may drop repeats inside one request (logPurchase products keep theirs unique)
            assert [r["data"] for r in recorded] == _dedupe(sent), case_id
    assert counts[200] > counts[400] > 0
