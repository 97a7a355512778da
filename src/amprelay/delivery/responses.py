"""Read Amplitude's answer to one batch into one outcome per entry (pure: no I/O).

The status is the body's ``code`` when the body is JSON with an integer ``code`` (Amplitude's
own SDKs read it from there), else the HTTP status. Then:

* 2xx: every entry is done.
* 400 ``Invalid API key`` (or ``missing_field: api_key``): HOLD — the destination's entries
  wait, never dropped, until the key is fixed.
* 400 naming entries (``events_with_invalid_fields``, ``events_with_missing_fields``,
  ``events_with_invalid_id_lengths``, ``silenced_events``): those entries are DEAD with
  Amplitude's reason; the rest are RESENT (Amplitude rejected the whole request).
* 400 with ``missing_field`` (a request-level field): every entry DEAD.
* 400 naming nothing: SPLIT when there are several entries (to isolate the bad one), else DEAD.
* 413: SPLIT when there are several entries, else DEAD (one entry over the size limit).
* 429: entries of throttled users/devices (``throttled_users``, ``throttled_devices``,
  ``throttled_events``) are THROTTLED (a fixed pause; a longer one past a daily quota); the rest
  are RESENT. A 429 that names no one throttles every entry.
* 408, 5xx, timeouts, connection errors and any other status: BACKOFF (exponential with
  jitter, up to the maximum age; then the dead-letter store).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from amprelay.masking import mask_answer


class Action(Enum):
    DONE = "done"
    DEAD = "dead"
    RESEND = "resend"  # again now; the entry itself was fine
    BACKOFF = "backoff"  # exponential backoff with jitter
    THROTTLED = "throttled"  # fixed pause (``delay``)
    HOLD = "hold"  # invalid API key: the destination waits
    SPLIT = "split"  # send again in smaller batches


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    reason: str = ""
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to one batch: its status and one outcome per entry, in batch order."""

    status: int | None  # None: no answer (timeout, connection error)
    outcomes: tuple[Outcome, ...]
    error: str = ""  # Amplitude's error text (or the transport error)

    @property
    def split(self) -> bool:
        return bool(self.outcomes) and self.outcomes[0].action is Action.SPLIT

    @property
    def hold(self) -> bool:
        return bool(self.outcomes) and self.outcomes[0].action is Action.HOLD


DONE = Outcome(Action.DONE)
RESEND = Outcome(Action.RESEND)

THROTTLE_SECONDS = 30.0
DAILY_QUOTA_SECONDS = 3600.0

INDEX_FIELDS = (
    ("events_with_invalid_fields", "invalid"),
    ("events_with_missing_fields", "missing"),
    ("events_with_invalid_id_lengths", "invalid id length"),
)


def parse_body(body: bytes | None) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def effective_status(http_status: int, data: dict[str, Any] | None) -> int:
    code = data.get("code") if data else None
    if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
        return code
    return http_status


def _snippet(body: bytes | None, n: int = 300) -> str:
    if not body:
        return ""
    return body[:n].decode("utf-8", "replace")


def _error_text(status: int, data: dict[str, Any] | None, body: bytes | None) -> str:
    """Amplitude's error text, masked: it echoes keys back (``Invalid API key: <key>``), and this
    text becomes log lines, dead-letter reasons and console rows."""
    if data and isinstance(data.get("error"), str):
        return mask_answer(data["error"])
    return mask_answer(_snippet(body)) or f"HTTP {status}"


def _ids(entry: bytes) -> tuple[str | None, str | None]:
    try:
        d = orjson.loads(entry)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(d, dict):
        return None, None
    u, dv = d.get("user_id"), d.get("device_id")
    return (u if isinstance(u, str) else None, dv if isinstance(dv, str) else None)


def _index_reasons(data: dict[str, Any], n: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for key, what in INDEX_FIELDS:
        fields = data.get(key)
        if not isinstance(fields, dict):
            continue
        for fname, idxs in fields.items():
            if not isinstance(idxs, list):
                continue
            for i in idxs:
                if isinstance(i, int) and 0 <= i < n:
                    out.setdefault(i, []).append(f"{fname} ({what})")
    silenced = data.get("silenced_events")
    if isinstance(silenced, list):
        for i in silenced:
            if isinstance(i, int) and 0 <= i < n:
                out.setdefault(i, []).append("silenced device")
    return out


def is_invalid_api_key(status: int, data: dict[str, Any] | None, body: bytes | None) -> bool:
    if status not in (400, 401, 403):
        return False
    err = (data or {}).get("error") if data else _snippet(body)
    if isinstance(err, str) and "invalid api key" in err.lower().replace("_", " "):
        return True
    return data is not None and data.get("missing_field") == "api_key"


def answer_detail(verdict: Verdict, most: int = 5) -> str:
    """Amplitude's error with the reason of each entry it named (distinct reasons, at most
    ``most`` of them): what the console's Overview shows for a failed request."""
    reasons = list(dict.fromkeys(o.reason for o in verdict.outcomes if o.reason))
    if not reasons:
        return verdict.error
    text = "; ".join(reasons[:most])
    if len(reasons) > most:
        text += f"; and {len(reasons) - most} more"
    return text


def classify(http_status: int | None, body: bytes | None, entries: Sequence[bytes],
             transport_error: str | None = None, *, throttle_seconds: float = THROTTLE_SECONDS,
             quota_seconds: float = DAILY_QUOTA_SECONDS) -> Verdict:
    """One outcome per entry for Amplitude's answer to a request carrying ``entries``."""
    n = len(entries)
    if http_status is None:
        err = mask_answer(transport_error) if transport_error else "no answer"
        return Verdict(None, (Outcome(Action.BACKOFF, err),) * n, err)
    data = parse_body(body)
    status = effective_status(http_status, data)
    if 200 <= status < 300 and 200 <= http_status < 300:
        return Verdict(status, (DONE,) * n)
    if 200 <= status < 300:  # the body says fine but HTTP says otherwise: trust the failure
        status = http_status
    err = _error_text(status, data, body)
    if is_invalid_api_key(status, data, body):
        reason = f"Amplitude {status}: {err}"
        return Verdict(status, (Outcome(Action.HOLD, reason),) * n, err)
    if status == 413:
        if n > 1:
            return Verdict(status, (Outcome(Action.SPLIT, f"Amplitude 413: {err}"),) * n, err)
        return Verdict(status, (Outcome(Action.DEAD, f"Amplitude 413: {err} (the entry alone is too large)"),), err)
    if status == 400:
        reasons = _index_reasons(data, n) if data else {}
        if reasons:
            outs = tuple(
                Outcome(Action.DEAD, f"Amplitude 400: {err}: {', '.join(reasons[i])}") if i in reasons else RESEND
                for i in range(n)
            )
            return Verdict(status, outs, err)
        missing = data.get("missing_field") if data else None
        if isinstance(missing, str) and missing:
            reason = f"Amplitude 400: {err}: missing {missing}"
            return Verdict(status, (Outcome(Action.DEAD, reason),) * n, err)
        if n > 1:
            return Verdict(status, (Outcome(Action.SPLIT, f"Amplitude 400: {err}"),) * n, err)
        return Verdict(status, (Outcome(Action.DEAD, f"Amplitude 400: {err}"),), err)
    if status == 429:
        return Verdict(status, _throttled(data or {}, entries, err, throttle_seconds, quota_seconds), err)
    return Verdict(status, (Outcome(Action.BACKOFF, f"Amplitude {status}: {err}"),) * n, err)


def _dict_field(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _throttled(data: dict[str, Any], entries: Sequence[bytes], err: str, throttle_seconds: float,
               quota_seconds: float) -> tuple[Outcome, ...]:
    n = len(entries)
    users = _dict_field(data, "throttled_users")
    devices = _dict_field(data, "throttled_devices")
    idxs = {i for i in data.get("throttled_events") or [] if isinstance(i, int)}
    q_users = _dict_field(data, "exceeded_daily_quota_users")
    q_devices = _dict_field(data, "exceeded_daily_quota_devices")
    throttle = Outcome(Action.THROTTLED, f"Amplitude 429: {err}", throttle_seconds)
    if not (users or devices or idxs or q_users or q_devices):
        return (throttle,) * n
    quota = Outcome(Action.THROTTLED, f"Amplitude 429: daily quota exceeded: {err}", quota_seconds)
    outs: list[Outcome] = []
    for i, entry in enumerate(entries):
        uid, did = _ids(entry)
        if (uid is not None and uid in q_users) or (did is not None and did in q_devices):
            outs.append(quota)
        elif i in idxs or (uid is not None and uid in users) or (did is not None and did in devices):
            outs.append(throttle)
        else:
            outs.append(RESEND)
    return tuple(outs)
