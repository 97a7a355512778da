"""Request validation as Amplitude does it (pure functions, no I/O).

Rules (Amplitude HTTP V2 / Batch docs):

* ``api_key`` (non-empty string) and ``events`` (non-empty array) are required request fields
  -> 400 ``missing_field``.
* Every event needs ``event_type`` and a ``user_id`` or ``device_id``. IDs shorter than
  ``options.min_id_length`` (default 5) are dropped; an event left with no ID is rejected
  (``events_with_invalid_id_lengths``; no ID at all -> ``events_with_missing_fields.user_id``,
  the docs do not name the key, this is the fake's choice). IDs on Amplitude's invalid-ID list
  ("anonymous", "null", "0", ...) are invalid field values.
* Typed fields: ``time``/``session_id``/``event_id``/``quantity`` are integers (milliseconds for
  time), ``price``/``revenue``/``location_*`` numbers, ``*_properties``/``groups``/``plan`` objects,
  the other documented fields strings. ``null`` counts as absent. Unknown keys are allowed.
* Event types reserved for Amplitude ("[Amplitude] Start Session", ...) are invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amprelay.fakeamp import responses
from amprelay.fakeamp.config import DEFAULT_MIN_ID_LENGTH

INVALID_IDS = frozenset(
    {
        "anonymous",
        "nil",
        "none",
        "null",
        "n/a",
        "na",
        "undefined",
        "unknown",
        '""',
        "00000000-0000-0000-0000-000000000000",
        "{}",
        "lmy47d",
        "0",
        "-1",
    }
)

RESERVED_EVENT_TYPES = frozenset(
    {
        "[Amplitude] Start Session",
        "[Amplitude] End Session",
        "[Amplitude] Revenue",
        "[Amplitude] Revenue (Verified)",
        "[Amplitude] Revenue (Unverified)",
        "[Amplitude] Merged User",
    }
)

_STR = (str,)
_INT = (int,)  # integral floats (1.7e12) are accepted too, on the slow path
_NUM = (int, float)
_OBJ = (dict,)

FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "app_version": _STR,
    "platform": _STR,
    "os_name": _STR,
    "os_version": _STR,
    "device_brand": _STR,
    "device_manufacturer": _STR,
    "device_model": _STR,
    "carrier": _STR,
    "country": _STR,
    "region": _STR,
    "city": _STR,
    "dma": _STR,
    "language": _STR,
    "productId": _STR,
    "revenueType": _STR,
    "ip": _STR,
    "idfa": _STR,
    "idfv": _STR,
    "adid": _STR,
    "android_id": _STR,
    "insert_id": _STR,
    "time": _INT,
    "session_id": _INT,
    "event_id": _INT,
    "quantity": _INT,
    "price": _NUM,
    "revenue": _NUM,
    "location_lat": _NUM,
    "location_lng": _NUM,
    "event_properties": _OBJ,
    "user_properties": _OBJ,
    "groups": _OBJ,
    "group_properties": _OBJ,
    "plan": _OBJ,
}
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
# Lengths of the other strings in INVALID_IDS: only IDs of these lengths need the lower-cased lookup.
_INVALID_ID_LENGTHS = frozenset(len(x) for x in INVALID_IDS if x != ZERO_UUID)


def _type_ok(allowed: tuple[type, ...], value: Any) -> bool:
    t = type(value)
    if t in allowed:
        return True
    return allowed is _INT and t is float and value.is_integer()


@dataclass(slots=True)
class EventBatch:
    """A request that passed request-level validation."""

    api_key: str
    events: list[Any]
    options: dict[str, Any] | None
    min_id_length: int


def parse_options(options: Any) -> tuple[dict[str, Any] | None, int] | None:
    """``(options, min_id_length)``; ``None`` if ``options`` is malformed."""
    if options is None:
        return None, DEFAULT_MIN_ID_LENGTH
    if type(options) is not dict:
        return None
    mil = options.get("min_id_length")
    if mil is None:
        return options, DEFAULT_MIN_ID_LENGTH
    if type(mil) is not int or mil < 0:
        return None
    return options, mil


def check_event_request(body: Any) -> EventBatch | dict[str, Any]:
    """Request-level checks of a decoded HTTP V2 / Batch body: an :class:`EventBatch` or a 400 body."""
    if type(body) is not dict:
        return responses.bad_request(responses.ERR_INVALID_JSON)
    api_key = body.get("api_key")
    if type(api_key) is not str or not api_key:
        return responses.missing_field("api_key")
    events = body.get("events")
    if type(events) is not list or not events:
        return responses.missing_field("events")
    parsed = parse_options(body.get("options"))
    if parsed is None:
        return responses.bad_request(responses.ERR_INVALID_JSON)
    options, mil = parsed
    return EventBatch(api_key=api_key, events=events, options=options, min_id_length=mil)


def _id_state(value: Any, min_len: int) -> int:
    """0 absent, 1 valid, 2 too short, 3 invalid value."""
    if value is None or value == "":
        return 0
    if type(value) is not str:
        return 3
    n = len(value)
    if (n in _INVALID_ID_LENGTHS and value.lower() in INVALID_IDS) or value == ZERO_UUID:
        return 3
    if n < min_len:
        return 2
    return 1


def event_id_key(event: dict[str, Any], min_len: int) -> tuple[str | None, str | None]:
    """The (device_id, user_id) Amplitude keeps after dropping too-short IDs."""
    d = event.get("device_id")
    u = event.get("user_id")
    return (d if _id_state(d, min_len) == 1 else None, u if _id_state(u, min_len) == 1 else None)


def check_events(events: list[Any], min_id_length: int) -> dict[str, Any] | None:
    """Per-event checks; ``None`` when every event is valid, else the 400 body.

    This runs for every event the fake receives, so the common case (all valid) is kept tight.
    """
    missing: dict[str, list[int]] = {}
    invalid: dict[str, list[int]] = {}
    short: dict[str, list[int]] = {}
    field_types = FIELD_TYPES
    reserved = RESERVED_EVENT_TYPES
    invalid_lengths = _INVALID_ID_LENGTHS
    zero = ZERO_UUID
    for i, ev in enumerate(events):
        if type(ev) is not dict:
            return responses.bad_request(responses.ERR_INVALID_EVENT_JSON)
        et = ev.get("event_type")
        if type(et) is not str or not et or et in reserved:
            if et is None or et == "":
                missing.setdefault("event_type", []).append(i)
            else:
                invalid.setdefault("event_type", []).append(i)
        # Fast path: a string ID of a usable length that cannot be on the invalid list.
        u = ev.get("user_id")
        d = ev.get("device_id")
        if (
            type(d) is str
            and len(d) >= min_id_length
            and len(d) not in invalid_lengths
            and d != zero
            and (u is None or (type(u) is str and len(u) not in invalid_lengths and u != zero))
        ) or (
            type(u) is str
            and len(u) >= min_id_length
            and len(u) not in invalid_lengths
            and u != zero
            and (d is None or (type(d) is str and len(d) not in invalid_lengths and d != zero))
        ):
            pass
        else:
            us = _id_state(u, min_id_length)
            ds = _id_state(d, min_id_length)
            if us == 3:
                invalid.setdefault("user_id", []).append(i)
            if ds == 3:
                invalid.setdefault("device_id", []).append(i)
            if us != 1 and ds != 1 and us != 3 and ds != 3:
                if us == 2 or ds == 2:
                    if us == 2:
                        short.setdefault("user_id", []).append(i)
                    if ds == 2:
                        short.setdefault("device_id", []).append(i)
                else:
                    missing.setdefault("user_id", []).append(i)
        for k, v in ev.items():
            allowed = field_types.get(k)
            if allowed is not None and type(v) not in allowed and v is not None and not _type_ok(allowed, v):
                invalid.setdefault(k, []).append(i)
    if missing or invalid or short:
        return responses.invalid_events(missing, invalid, short)
    return None


# ---- Identify / Group Identify / User Mapping (form APIs) ----


def check_identification(item: Any, min_id_length: int) -> bool:
    """An Identify API identification: an object with a usable user_id or device_id."""
    if type(item) is not dict:
        return False
    us = _id_state(item.get("user_id"), min_id_length)
    ds = _id_state(item.get("device_id"), min_id_length)
    if us == 3 or ds == 3:
        return False
    for k in ("user_properties", "groups"):
        v = item.get(k)
        if v is not None and type(v) is not dict:
            return False
    return us == 1 or ds == 1


def check_group_identification(item: Any) -> bool:
    """A Group Identify identification: group_type and group_value strings; group_properties an object."""
    if type(item) is not dict:
        return False
    gt = item.get("group_type")
    gv = item.get("group_value")
    if type(gt) is not str or not gt or type(gv) is not str or not gv:
        return False
    gp = item.get("group_properties")
    return gp is None or type(gp) is dict


def check_mapping(item: Any) -> bool:
    """A User Mapping entry: user_id, plus global_user_id unless ``unmap`` is true."""
    if type(item) is not dict:
        return False
    uid = item.get("user_id")
    if type(uid) is not str or not uid:
        return False
    if item.get("unmap") is True:
        return True
    gid = item.get("global_user_id")
    return type(gid) is str and bool(gid)
