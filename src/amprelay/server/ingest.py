"""Parsing of Segment HTTP Tracking API requests: auth, body decoding, size limits, batch
expansion. Pure functions over bytes and headers; the app wires them to HTTP."""

from __future__ import annotations

import base64
import gzip
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amprelay.config import ServerConfig
from amprelay.errors import AmprelayError
from amprelay.js.json import SLOW, JSONParseError, depth_exceeds, dumps, nests_within, parse

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
    #: every item is known to nest within the depth limit (read from the body's bytes): the
    #: items need no walk of their own
    shallow: bool = False


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


#: Objects/arrays nested in one message, the message itself included (``{}`` is 1 level). Deeper
#: messages are rejected (they are also beyond what serialisers handle without recursion limits).
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may carry (Segment's HTTP Tracking API limits by default)."""

    max_message_bytes: int = 32 * 1024
    max_batch_bytes: int = 500 * 1024
    max_batch_messages: int = 2500
    max_depth: int = MAX_DEPTH


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one item was refused: a short ``code`` (metrics, counts) and a sentence."""

    code: str
    reason: str


def parse_request(
    path_segment: str,
    body: bytes,
    auth_header: str | None,
    max_message_bytes: int,
    max_depth: int = MAX_DEPTH,
    doc: Any = SLOW,
) -> ParsedRequest:
    """Turn one request body into raw messages (``writeKey`` removed). Raises
    :class:`IngestError` for a request that can't be taken as a whole. ``doc``: the body
    already parsed (by :func:`parse_body`)."""
    if doc is SLOW:
        doc = parse_body(body)
    if not isinstance(doc, dict):
        raise IngestError(400, "invalid_json", f"the body must be a JSON object, not {_js_type(doc)}")
    write_key = write_key_from_auth(auth_header)
    body_key = doc.pop("writeKey", None)
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
        if shared and depth_exceeds(shared, max_depth - 1):
            raise IngestError(400, "too_deep", f"the batch's context nests deeper than {max_depth} levels")
        # an item is two levels below the body's top (the request object, its batch array)
        return ParsedRequest(write_key, batch, shared, shallow=nests_within(body, max_depth + 2))

    msg_type = TYPE_BY_PATH.get(path_segment)
    if msg_type is None:
        raise IngestError(404, "unknown_path", f"unknown endpoint /v1/{path_segment}")
    if len(body) > max_message_bytes:
        raise IngestError(
            413, "too_large", f"the message is {len(body)} bytes; the limit is {max_message_bytes} bytes per message"
        )
    if not nests_within(body, max_depth) and depth_exceeds(doc, max_depth):
        raise IngestError(400, "too_deep", f"the message nests objects and arrays deeper than {max_depth} levels")
    doc["type"] = msg_type
    return ParsedRequest(write_key, [doc], {}, shallow=True)


def parse_body(body: bytes) -> Any:
    """The body as ``JSON.parse`` reads it (values as JavaScript holds them); IngestError 400."""
    if not body.strip():
        raise IngestError(400, "empty_body", "the request body is empty; send a JSON object")
    try:
        return parse(body)
    except JSONParseError as exc:
        raise IngestError(400, "invalid_json", exc.message) from None


def merge_batch_item(item: Any, shared: dict[str, Any], max_depth: int = MAX_DEPTH,
                     shallow: bool = False) -> tuple[dict | None, Rejection | None]:
    """One item of a batch, ``writeKey`` removed (from ``item``, in place), with the batch's shared
    context/integrations/sentAt applied in a new dict (``item`` itself stays as sent, for the size
    limit, which the caller applies: see ``server/app.py``). Returns (message, None) or (None,
    rejection). ``shallow``: the item is known to nest within ``max_depth``
    (:attr:`ParsedRequest.shallow`)."""
    if not isinstance(item, dict):
        return None, Rejection("not_an_object", f"a message must be a JSON object, not {_js_type(item)}")
    item.pop("writeKey", None)
    if not shallow and depth_exceeds(item, max_depth):
        return None, Rejection("too_deep", f"the message nests objects and arrays deeper than {max_depth} levels")
    msg = dict(item)
    for key, value in shared.items():
        if key == "sentAt":
            msg.setdefault("sentAt", value)
        elif isinstance(msg.get(key), dict):
            msg[key] = {**value, **msg[key]}
        elif key not in msg:
            msg[key] = value
    return msg, None


def too_large(size: int, max_message_bytes: int) -> Rejection:
    return Rejection("too_large", f"the message is {size} bytes; the limit is {max_message_bytes} bytes per message")


#: The values ingest's normalisation may overwrite (``normalize_message``); an absent key is added.
_OVERWRITTEN = ("messageId", "receivedAt", "timestamp")


def overwritten_bytes(msg: dict[str, Any]) -> int:
    """At most how many bytes of ``msg``'s JSON normalising it may take away: the values it may
    overwrite (a string's JSON is at most 6 bytes a character and its quotes), and 3 for an
    ``originalTimestamp`` null replaced by the (at least 1-byte) timestamp. Merging the batch's
    shared fields only adds. So a message sent as ``S`` bytes normalises to at least
    ``S - overwritten_bytes`` bytes: the size limit needs the size as sent only near the limit."""
    n = 3
    for key in _OVERWRITTEN:
        if key in msg:
            v = msg[key]
            if type(v) is str:
                n += 6 * len(v) + 2
            elif v is None or type(v) in (bool, int, float):
                n += 32
            else:
                n += len(dumps(v, default=str))
    return n


class Rejections:
    """The items one request could not take: counts per reason and the first few in full. The
    answer and the dead-letter record stay small whatever the batch holds."""

    ANSWERED = 10  # items listed in the answer
    STORED = 5  # items kept (in full, when small) in the dead-letter record
    SAMPLE_BYTES = 4096

    def __init__(self) -> None:
        self.count = 0
        self.by_code: dict[str, int] = {}
        self.first: list[tuple[int, Rejection, Any]] = []

    def add(self, index: int, rejection: Rejection, item: Any) -> None:
        self.count += 1
        self.by_code[rejection.code] = self.by_code.get(rejection.code, 0) + 1
        if len(self.first) < self.ANSWERED:
            self.first.append((index, rejection, item))

    def add_many(self, first_index: int, count: int, rejection: Rejection) -> None:
        """``count`` items from ``first_index`` on, refused for the same reason, unread."""
        if count <= 0:
            return
        self.count += count
        self.by_code[rejection.code] = self.by_code.get(rejection.code, 0) + count
        for i in range(first_index, first_index + min(count, self.ANSWERED - len(self.first))):
            self.first.append((i, rejection, None))

    def __bool__(self) -> bool:
        return self.count > 0

    def answer(self) -> dict[str, Any]:
        """The answer's part: ``rejected`` (the first items, index and reason),
        ``rejected_count`` and ``rejected_reasons`` (count per reason code)."""
        return {"rejected": [{"index": i, "reason": r.reason} for i, r, _ in self.first],
                "rejected_count": self.count, "rejected_reasons": dict(self.by_code)}

    def summary(self) -> str:
        counts = ", ".join(f"{code} {n}" for code, n in self.by_code.items())
        index, rejection, _ = self.first[0]
        return f"{self.count} message(s) rejected ({counts}); first, at index {index}: {rejection.reason}"

    def dead_letter(self) -> dict[str, Any]:
        """One dead-letter record for the whole request: counts, and samples of the first items
        (an item over the size or depth limit is described, not kept)."""
        samples = []
        for index, rejection, item in self.first[:self.STORED]:
            sample: dict[str, Any] = {"index": index, "reason": rejection.reason}
            if item is not None and rejection.code not in ("too_deep", "too_large"):
                try:
                    data = dumps(item, default=str)
                except (TypeError, ValueError):  # e.g. a non-object item nested beyond orjson's depth
                    data = None
                if data is not None and len(data) <= self.SAMPLE_BYTES:
                    sample["message"] = item
                elif data is not None:
                    sample["message_bytes"] = len(data)
            samples.append(sample)
        message = {"rejected": self.count, "reasons": dict(self.by_code), "samples": samples}
        first = samples[0].get("message")
        if isinstance(first, dict):  # the dead-letter store lists records by their user
            for key in ("messageId", "userId", "anonymousId"):
                if key in first:
                    message[key] = first[key]
        return {"index": None, "reason": self.summary(), "message": message}


def ingest_limits(server: ServerConfig) -> Limits:
    """The :class:`Limits` of a ``server:`` config section."""
    return Limits(max_message_bytes=server.max_message_bytes, max_batch_bytes=server.max_batch_bytes,
                  max_batch_messages=server.max_batch_messages, max_depth=server.max_nesting_depth)


def rate_limiter(server: ServerConfig) -> RateLimiter | None:
    """The per-write-key limiter of a ``server:`` config section, or None (the default: off)."""
    rate = server.rate_limit_per_second
    if not rate:
        return None
    return RateLimiter(rate, float(server.rate_limit_burst or max(1.0, 2 * rate)))


class RateLimiter:
    """Token buckets per write key: ``rate`` messages a second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str, n: int) -> float:
        """Take ``n`` tokens (at least one) for ``key``: 0.0 when allowed, else the seconds after
        which the same request would be."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        need = min(max(n, 1), self.burst)
        if tokens < need:
            self._buckets[key] = (tokens, now)
            return (need - tokens) / self.rate
        self._buckets[key] = (tokens - need, now)
        return 0.0


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
