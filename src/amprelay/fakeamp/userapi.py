"""The stand-in's Dashboard REST API (basic auth): user deletions and user search."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from amprelay.fakeamp.asgi import Answer, Scope, json_answer
from amprelay.fakeamp.store import RecordStore
from amprelay.js.json import loads as json_loads


def amplitude_id_for(value: str) -> int:
    """A stable fake Amplitude ID for a user/device ID."""
    return int.from_bytes(hashlib.sha1(value.encode()).digest()[:6], "big")


def deletions(api_key: str, method: str, path: str, region: str, body: bytes, jobs: list[dict[str, Any]],
              store: RecordStore) -> Answer:
    """``/api/2/deletions/users``: list (GET) or request (POST) user deletions."""
    if method == "GET":
        return json_answer(200, [j["job"] for j in jobs if j["_api_key"] == api_key])
    if method != "POST":
        return json_answer(405, {"error": "Method Not Allowed"})
    try:
        payload = json_loads(body) if body else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return json_answer(400, {"error": "Invalid JSON request body"})
    user_ids = payload.get("user_ids") or []
    amplitude_ids = payload.get("amplitude_ids") or []
    if not isinstance(user_ids, list) or not isinstance(amplitude_ids, list):
        return json_answer(400, {"error": "user_ids and amplitude_ids must be arrays"})
    if not user_ids and not amplitude_ids:
        return json_answer(400, {"error": "Request missing user_ids or amplitude_ids"})
    if len(user_ids) + len(amplitude_ids) > 100:
        return json_answer(400, {"error": "Too many ids: at most 100 per request"})
    now = time.time_ns() // 1_000_000
    today = datetime.fromtimestamp(now / 1000, UTC).date()
    requester = payload.get("requester")
    entries = []
    for aid in amplitude_ids:
        entries.append(
            {"amplitude_id": aid, "requested_on_day": today.isoformat(), "requester": requester}
        )
    for uid in user_ids:
        entries.append(
            {
                "amplitude_id": amplitude_id_for(str(uid)),
                "requested_on_day": today.isoformat(),
                "requester": requester,
                "user_id": uid,
            }
        )
    job = {
        "amplitude_ids": entries,
        "day": (today + timedelta(days=30)).isoformat(),
        "status": "staging",
    }
    jobs.append({"_api_key": api_key, "job": job})
    store.add(path, region, api_key, "deletion", None, now, [payload])
    return json_answer(200, [job])

def usersearch(api_key: str, scope: Scope, store: RecordStore) -> Answer:
    """``/api/2/usersearch?user=``: the users and devices the stand-in has seen."""
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    user = query.get("user")
    if not user:
        return json_answer(400, {"error": "Request missing required parameter user"})
    matches: dict[str, dict[str, Any]] = {}
    for data in store.iter_data(api_key, ("event", "identification")):
        if data.get("user_id") == user or data.get("device_id") == user:
            uid = data.get("user_id")
            key = uid if uid else f"device:{data.get('device_id')}"
            if key not in matches:
                matches[key] = {"amplitude_id": amplitude_id_for(key), "user_id": uid}
    if not matches and user.isdigit():
        for key in _known_ids(api_key, store):
            if amplitude_id_for(key) == int(user):
                uid = None if key.startswith("device:") else key
                return json_answer(
                    200,
                    {"matches": [{"amplitude_id": int(user), "user_id": uid}], "type": "match_amplitude_id"},
                )
    if matches:
        return json_answer(200, {"matches": list(matches.values()), "type": "match_user_or_device_id"})
    return json_answer(200, {"matches": [], "type": "nomatch"})

def _known_ids(api_key: str, store: RecordStore) -> set[str]:
    out: set[str] = set()
    for data in store.iter_data(api_key, ("event", "identification")):
        uid = data.get("user_id")
        out.add(uid if uid else f"device:{data.get('device_id')}")
    return out
