"""Amplitude's response bodies, as plain dicts (pure functions).

Sources (Amplitude's public docs, amplitude/amplitude-docs content/collections/api/en/http-v2.md and
batch-event-upload.md; Amplitude-Developer-Docs/amplitude-dev-center docs/analytics/apis/http-v2-api.md):

* 200 SuccessSummary ``{"code":200,"events_ingested":N,"payload_size_bytes":B,"server_upload_time":ms}``
* 400 InvalidRequestError ``{"code":400,"error":"Request missing required field","missing_field":"api_key"}``,
  ``events_with_missing_fields`` / ``events_with_invalid_fields`` (field -> event indexes); error strings
  "Invalid JSON request body", "Missing request body", "Request missing required field",
  "Invalid event JSON", "Invalid field values on some events".
* 400 "Invalid API key: <key>" (observed real answer, e.g. braintree-web-drop-in issue #937).
* 400 SilencedDeviceID ``{"code":400,"error":"Events silenced for device_id","eps_threshold",...}``
* 413 ``{"code":413,"error":"Payload too large"}``
* 429 ``{"code":429,"error":"Too many requests for some devices and users","eps_threshold",
  "throttled_devices","throttled_users","throttled_events"}`` plus ``exceeded_daily_quota_users`` /
  ``exceeded_daily_quota_devices`` for the daily limit (Batch API docs).
* 5xx bodies are not documented by Amplitude; the fake answers ``{"code":N,"error":"<reason>"}``.
"""

from __future__ import annotations

from typing import Any

ERR_MISSING_FIELD = "Request missing required field"
ERR_INVALID_JSON = "Invalid JSON request body"
ERR_MISSING_BODY = "Missing request body"
ERR_INVALID_EVENT_JSON = "Invalid event JSON"
ERR_INVALID_FIELDS = "Invalid field values on some events"
ERR_INVALID_PATH = "Invalid request path"
ERR_SILENCED = "Events silenced for device_id"
ERR_THROTTLED = "Too many requests for some devices and users"
ERR_TOO_LARGE = "Payload too large"

SERVER_ERROR_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def success(events_ingested: int, payload_size_bytes: int, server_upload_time: int) -> dict[str, Any]:
    return {
        "code": 200,
        "events_ingested": events_ingested,
        "payload_size_bytes": payload_size_bytes,
        "server_upload_time": server_upload_time,
    }


def bad_request(error: str) -> dict[str, Any]:
    return {"code": 400, "error": error}


def missing_field(name: str) -> dict[str, Any]:
    return {"code": 400, "error": ERR_MISSING_FIELD, "missing_field": name}


def invalid_api_key(api_key: str) -> dict[str, Any]:
    return {"code": 400, "error": f"Invalid API key: {api_key}"}


def invalid_events(
    missing: dict[str, list[int]],
    invalid: dict[str, list[int]],
    invalid_id_lengths: dict[str, list[int]],
) -> dict[str, Any]:
    """Per-event problems. The error names the missing fields first, as Amplitude's example does."""
    body: dict[str, Any] = {"code": 400, "error": ERR_MISSING_FIELD if missing else ERR_INVALID_FIELDS}
    if missing:
        body["events_with_missing_fields"] = missing
    if invalid:
        body["events_with_invalid_fields"] = invalid
    if invalid_id_lengths:
        body["events_with_invalid_id_lengths"] = invalid_id_lengths
    return body


def silenced(devices: list[str], events: list[int], eps_threshold: int) -> dict[str, Any]:
    return {
        "code": 400,
        "error": ERR_SILENCED,
        "eps_threshold": eps_threshold,
        "exceeded_daily_quota_devices": {},
        "silenced_devices": devices,
        "silenced_events": events,
        "throttled_devices": {},
        "throttled_events": [],
    }


def payload_too_large() -> dict[str, Any]:
    return {"code": 413, "error": ERR_TOO_LARGE}


def throttled(
    eps_threshold: int,
    throttled_devices: dict[str, int],
    throttled_users: dict[str, int],
    throttled_events: list[int],
    exceeded_daily_quota_devices: dict[str, int] | None = None,
    exceeded_daily_quota_users: dict[str, int] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": 429,
        "error": ERR_THROTTLED,
        "eps_threshold": eps_threshold,
        "throttled_devices": throttled_devices,
        "throttled_users": throttled_users,
    }
    if exceeded_daily_quota_users is not None:
        body["exceeded_daily_quota_users"] = exceeded_daily_quota_users
    if exceeded_daily_quota_devices is not None:
        body["exceeded_daily_quota_devices"] = exceeded_daily_quota_devices
    body["throttled_events"] = throttled_events
    return body


def server_error(status: int) -> dict[str, Any]:
    return {"code": status, "error": SERVER_ERROR_REASONS.get(status, "Server Error")}


def forced(status: int) -> dict[str, Any]:
    """The body for an injected failure (``fail_next``/``error_rate``) with this status."""
    if status == 413:
        return payload_too_large()
    if status == 429:
        return throttled(0, {}, {}, [])
    if status == 400:
        return bad_request(ERR_INVALID_JSON)
    return server_error(status)
