"""The outbound HTTP request an action produces: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to Amplitude.

    ``json`` holds the JSON body (for ``encoding == "json"``); ``form`` holds the form fields as
    strings, exactly as they are sent (for ``encoding == "form"``; Amplitude's Identify, Group
    Identify and User Mapping APIs take ``application/x-www-form-urlencoded``).
    """

    method: str
    url: str
    encoding: Literal["json", "form"]
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def decoded_body(self) -> dict[str, Any]:
        """The body in the conformance format: JSON as an object; form fields with
        ``identification``, ``mapping`` and ``options`` JSON-decoded."""
        if self.encoding == "json":
            return self.json or {}
        out: dict[str, Any] = {}
        for k, v in (self.form or {}).items():
            if k in ("identification", "mapping", "options"):
                try:
                    out[k] = orjson.loads(v)
                except orjson.JSONDecodeError:
                    out[k] = v
            else:
                out[k] = v
        return out
