"""Parsing of Segment HTTP Tracking API requests: auth, body decoding, size limits, batch
expansion. Pure functions over bytes and headers; the app wires them to HTTP."""

from __future__ import annotations

import base64
import gzip
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from amprelay.destination.js import js_json_loads
from amprelay.errors import AmprelayError

# Path segment -> message type. Long names are the HTTP Tracking API's; one-letter names are
# what analytics.js (analytics-next) posts to.
TYPE_BY_PATH = {
    "track": "track", "t": "track",
    "identify": "identify", "i": "identify",
    "page": "page", "p": "page",
    "screen": "screen", "s": "screen",
    "group": "group", "g": "group",
    "alias": "alias", "a": "alias",
}
BATCH_PATHS = frozenset({"batch", "import", "b"})


class IngestError(AmprelayError):
    """A whole request that can't be taken: ``status`` and a message that says what is wrong."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"success": False, "code": self.code, "message": self.message}


@dataclass
class ParsedRequest:
    write_key: str | None
    messages: list[Any]  # raw items (not yet validated)
    batch_context: dict[str, Any] = field(default_factory=dict)


def write_key_from_auth(header: str | None) -> str | None:
    """The write key in a ``Basic`` Authorization header (the username; password empty)."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, _, _ = decoded.partition(":")
    return user or None


def decode_body(raw: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo gzip/deflate; refuse bodies over ``max_bytes`` once decoded (zip bombs included)."""
    enc = (content_encoding or "").strip().lower()
    if enc in ("", "identity"):
        if len(raw) > max_bytes:
            raise IngestError(413, "too_large", f"request body is {len(raw)} bytes; the limit is {max_bytes}")
        return raw
    if enc not in ("gzip", "x-gzip", "deflate"):
        raise IngestError(415, "unsupported_encoding", f"unsupported Content-Encoding {content_encoding!r}; use gzip")
    wbits = 16 + zlib.MAX_WBITS if enc != "deflate" else zlib.MAX_WBITS
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(raw, max_bytes + 1)
        if len(out) > max_bytes:
            raise IngestError(413, "too_large", f"decompressed body exceeds the limit of {max_bytes} bytes")
        if not d.eof:
            raise IngestError(400, "invalid_gzip", "the gzip body is truncated")
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise IngestError(400, "invalid_gzip", f"the body is not valid {enc}: {exc}") from None
    return out


def parse_request(
    path_segment: str,
    body: bytes,
    auth_header: str | None,
    max_message_bytes: int,
) -> ParsedRequest:
    """Turn one request body into raw messages. Raises :class:`IngestError` for a request
    that can't be taken as a whole."""
    if not body.strip():
        raise IngestError(400, "empty_body", "the request body is empty; send a JSON object")
    try:
        doc = js_json_loads(body)  # values as JavaScript holds them, like Segment's pipeline
    except ValueError as exc:
        raise IngestError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise IngestError(400, "invalid_json", f"the body must be a JSON object, not {_js_type(doc)}")
    write_key = write_key_from_auth(auth_header)
    body_key = doc.get("writeKey")
    if write_key is None and isinstance(body_key, str) and body_key:
        write_key = body_key

    if path_segment in BATCH_PATHS:
        batch = doc.get("batch")
        if not isinstance(batch, list):
            raise IngestError(400, "invalid_batch", "a batch request needs a `batch` array of messages")
        shared: dict[str, Any] = {}
        for key in ("context", "integrations"):
            if isinstance(doc.get(key), dict):
                shared[key] = doc[key]
        if isinstance(doc.get("sentAt"), str):
            shared["sentAt"] = doc["sentAt"]
        return ParsedRequest(write_key, batch, shared)

    msg_type = TYPE_BY_PATH.get(path_segment)
    if msg_type is None:
        raise IngestError(404, "unknown_path", f"unknown endpoint /v1/{path_segment}")
    if len(body) > max_message_bytes:
        raise IngestError(
            413, "too_large", f"the message is {len(body)} bytes; the limit is {max_message_bytes} bytes per message"
        )
    doc.pop("writeKey", None)
    doc["type"] = msg_type
    return ParsedRequest(write_key, [doc], {})


def expand_batch_item(item: Any, shared: dict[str, Any], max_message_bytes: int) -> tuple[dict | None, str | None]:
    """One item of a batch with the batch's shared context/integrations/sentAt applied.
    Returns (message, None) or (None, reason)."""
    if not isinstance(item, dict):
        return None, f"a message must be a JSON object, not {_js_type(item)}"
    size = len(orjson.dumps(item))
    if size > max_message_bytes:
        return None, f"the message is {size} bytes; the limit is {max_message_bytes} bytes per message"
    item.pop("writeKey", None)
    for key, value in shared.items():
        if key == "sentAt":
            item.setdefault("sentAt", value)
        elif isinstance(item.get(key), dict):
            item[key] = {**value, **item[key]}
        elif key not in item:
            item[key] = value
    return item, None


def _js_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"
