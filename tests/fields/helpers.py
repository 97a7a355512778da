"""Shared fixtures for the fields tests: a mini logPurchase-like field set and a converter from the
reference's InputField JSON (as stored in data/fieldsets.json) to ``InputField``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from amprelay.fields import InputField

DATA = Path(__file__).parent / "data"


def field_from_reference(key: str, spec: dict[str, Any]) -> InputField:
    props = spec.get("properties")
    return InputField(
        key=key,
        label=spec.get("label", ""),
        type=spec["type"],
        required=spec.get("required", False) is True,
        allow_null=spec.get("allowNull", False),
        multiple=spec.get("multiple", False),
        properties={k: field_from_reference(k, v) for k, v in props.items()} if props is not None else None,
        additional_properties=bool(spec.get("additionalProperties", False)),
        choices=tuple(spec["choices"]) if spec.get("choices") else None,
        format=spec.get("format"),
        minimum=spec.get("minimum"),
        maximum=spec.get("maximum"),
    )


def load_fieldsets() -> dict[str, dict[str, InputField]]:
    raw = json.loads((DATA / "fieldsets.json").read_text())
    return {name: {k: field_from_reference(k, s) for k, s in spec.items()} for name, spec in raw.items()}


def js_equal(a: Any, b: Any) -> bool:
    """Deep equality with JS types: booleans are not numbers, 1 == 1.0, and non-finite numbers equal
    ``None`` (JSON.stringify writes them as null)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and a != a or isinstance(a, float) and a in (float("inf"), float("-inf")):
        return b is None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(js_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(js_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _f(key: str, label: str, type_: str, **kw: Any) -> InputField:
    return InputField(key=key, label=label, type=type_, **kw)  # type: ignore[arg-type]


PRODUCT_PROPS = {
    "price": _f("price", "Price", "number"),
    "quantity": _f("quantity", "Quantity", "integer"),
    "revenue": _f("revenue", "Revenue", "number"),
    "productId": _f("productId", "Product ID", "string"),
    "revenueType": _f("revenueType", "Revenue Type", "string"),
}

PURCHASE_FIELDS: dict[str, InputField] = {
    "user_id": _f("user_id", "User ID", "string", allow_null=True, default={"@path": "$.userId"}, has_default=True),
    "device_id": _f("device_id", "Device ID", "string"),
    "event_type": _f("event_type", "Event Type", "string", required=True, default={"@path": "$.event"}, has_default=True),
    "session_id": _f("session_id", "Session ID", "datetime"),
    "time": _f("time", "Timestamp", "datetime", default={"@path": "$.timestamp"}, has_default=True),
    "event_properties": _f("event_properties", "Event Properties", "object"),
    "user_properties": _f("user_properties", "User Properties", "object"),
    "groups": _f("groups", "Groups", "object"),
    "price": _f("price", "Price", "number"),
    "quantity": _f("quantity", "Quantity", "integer"),
    "location_lng": _f("location_lng", "Longtitude", "number"),
    "use_batch_endpoint": _f("use_batch_endpoint", "Use Batch Endpoint", "boolean", default=False, has_default=True),
    "min_id_length": _f("min_id_length", "Minimum ID Length", "integer", allow_null=True),
    "group_type": _f("group_type", "Group Type", "string"),
    "products": _f("products", "Products", "object", multiple=True, properties=PRODUCT_PROPS,
                   additional_properties=True, default={"@arrayPath": ["$.properties.products", {}]}, has_default=True),
    "library2": _f(
        "library2", "Library", "object", additional_properties=False,
        properties={
            "behavior": _f("behavior", "Behavior", "string", required=True,
                           choices=({"label": "Auto", "value": "auto"}, {"label": "Use Mapping", "value": "use_mapping"})),
            "mapping": _f("mapping", "Mapping", "string"),
        },
        default={"behavior": "use_mapping", "mapping": {"@path": "$.context.library.name"}}, has_default=True,
    ),
    "utm_properties": _f(
        "utm_properties", "UTM Properties", "object", additional_properties=False,
        properties={k: _f(k, k.upper(), "string") for k in ("utm_source", "utm_medium", "utm_term")},
    ),
    "setOnce": _f(
        "setOnce", "Set Once", "object", additional_properties=True,
        properties={"initial_referrer": _f("initial_referrer", "Initial Referrer", "string"),
                    "initial_utm_source": _f("initial_utm_source", "Initial UTM Source", "string")},
    ),
}
