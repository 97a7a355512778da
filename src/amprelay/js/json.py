"""JSON as JavaScript reads and writes it: what ``JSON.parse`` accepts, and ``JSON.stringify``'s
escaping of lone surrogates.

* :func:`parse` accepts exactly what ``JSON.parse`` accepts once the bytes are decoded as UTF-8
  (checked against Node's answers in ``tests/server/data/json_parse_oracle.jsonl``, recorded by
  ``dev/json_oracle.py``): no ``NaN``/``Infinity`` literals, no BOM, no UTF-16 bodies, nothing
  but RFC 8259 JSON. Lone surrogate escapes (``"\\ud800"``) are accepted and kept, integers of any
  length are read (as the double JavaScript holds), nesting of any depth is read (without
  recursion). Values come out as JavaScript holds them (see :func:`js_values`).
* :func:`dumps` is ``orjson.dumps`` that also writes strings holding lone surrogates, escaped
  as ``JSON.stringify`` escapes them (``"\\ud800"``, Node >= 12).
* :func:`loads` reads back what :func:`dumps` wrote (orjson, with :func:`parse` when orjson
  refuses: a lone surrogate escape).

Fast path everywhere: orjson; the slow paths run only for what orjson refuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import orjson

from amprelay.errors import AmprelayError
from amprelay.js.objects import with_key_order

__all__ = ["SLOW", "JSONParseError", "depth_exceeds", "dumps", "nests_within", "loads", "parse", "parse_fast", "well_formed"]

_MAX_SAFE = 2**53


class JSONParseError(AmprelayError, ValueError):
    """Text ``JSON.parse`` would refuse (or bytes that are not UTF-8); ``message`` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- reading ---------------------------------------------------------------------------------

def _decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise JSONParseError("the body is UTF-16 (it starts with a UTF-16 byte order mark); send UTF-8") from None
        bad = raw[exc.start:exc.start + 1].hex()
        raise JSONParseError(f"the body is not UTF-8: byte 0x{bad} at offset {exc.start} is invalid") from None


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


class _Constant(Exception):
    pass


def _parse_int(text: str) -> int | float:
    # JavaScript holds every number as a double: a long integer becomes the nearest double
    # (float() rounds correctly and gives inf past 1.8e308, as Number() gives Infinity).
    return int(text) if len(text) <= 16 else float(text)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_parse_int, strict=True)


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {col}"


#: What :func:`parse_fast` returns when only the slow path can tell.
SLOW: Any = object()


def parse_fast(raw: bytes) -> Any:
    """:func:`parse` when orjson can read ``raw`` (almost always, in microseconds per KB), else
    :data:`SLOW`: the caller may run :func:`parse` off its event loop (a lone surrogate escape, a
    long integer, nesting beyond 1,024 levels, or an error to describe)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return SLOW
    return js_values(value) if _needs_js_walk(raw, value) else value


def parse(data: bytes | str) -> Any:
    """``JSON.parse`` of ``data`` (bytes are decoded as UTF-8). Raises :class:`JSONParseError`
    with a sentence naming the problem."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    value = parse_fast(raw)
    if value is not SLOW:
        return value
    text = data if isinstance(data, str) else _decode_utf8(raw)
    if text[:1] == "\ufeff":
        raise JSONParseError("the body starts with a byte order mark (U+FEFF), which JSON.parse refuses")
    if "\x00" in text[:4] and text.strip("\x00")[:1] in ("{", "[", '"'):
        raise JSONParseError("the body looks like UTF-16 or UTF-32 (NUL bytes between characters); send UTF-8")
    try:
        value = _scan_all(text)
    except RecursionError:
        value = _parse_iterative(text)
    return js_values(value)


def _scan_all(text: str) -> Any:
    try:
        value, end = _DECODER.raw_decode(text, _skip_ws(text, 0))
    except _Constant as exc:
        name = exc.args[0]
        pos = _find_constant(text, name)
        raise JSONParseError(f"{name} is not valid JSON ({_where(text, pos)}): JSON has no NaN or Infinity; "
                             "send null or a string") from None
    except json.JSONDecodeError as exc:
        raise JSONParseError(f"the body is not valid JSON: {exc.msg} ({_where(text, exc.pos)})") from None
    end = _skip_ws(text, end)
    if end != len(text):
        raise JSONParseError(f"the body is not valid JSON: extra data after the value ({_where(text, end)})")
    return value


_WS = re.compile(r"[ \t\n\r]*")


def _skip_ws(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def _find_constant(text: str, name: str) -> int:
    m = re.search(re.escape(name), text)
    return m.start() if m else 0


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def _parse_iterative(text: str) -> Any:
    """The same grammar without recursion, for nesting deeper than Python's recursion limit
    (``JSON.parse`` reads any depth). Slow, and only used then."""
    stack: list[tuple[Any, str | None]] = []  # (container, pending key for objects)
    pos = _skip_ws(text, 0)
    n = len(text)

    def fail(what: str, at: int) -> JSONParseError:
        return JSONParseError(f"the body is not valid JSON: {what} ({_where(text, at)})")

    while True:
        # a value starts at pos
        if pos >= n:
            raise fail("unexpected end of the body", pos)
        ch = text[pos]
        value: Any
        if ch == "{":
            pos = _skip_ws(text, pos + 1)
            if pos < n and text[pos] == "}":
                value, pos = {}, pos + 1
            else:
                if pos >= n or text[pos] != '"':
                    raise fail("expected a property name in double quotes", pos)
                key, pos = _scanstring(text, pos + 1, True)
                pos = _skip_ws(text, pos)
                if pos >= n or text[pos] != ":":
                    raise fail("expected ':' after a property name", pos)
                stack.append(({}, key))
                pos = _skip_ws(text, pos + 1)
                continue
        elif ch == "[":
            pos = _skip_ws(text, pos + 1)
            if pos < n and text[pos] == "]":
                value, pos = [], pos + 1
            else:
                stack.append(([], None))
                continue
        elif ch == '"':
            try:
                value, pos = _scanstring(text, pos + 1, True)
            except json.JSONDecodeError as exc:
                raise fail(exc.msg, exc.pos) from None
        elif ch in _LITERALS:
            word, value = _LITERALS[ch]
            if not text.startswith(word, pos):
                raise fail("unexpected character", pos)
            pos += len(word)
        else:
            m = _NUMBER.match(text, pos)
            if not m:
                if text.startswith(("NaN", "Infinity", "-Infinity"), pos):
                    raise JSONParseError(f"NaN and Infinity are not valid JSON ({_where(text, pos)}); "
                                         "send null or a string")
                raise fail("unexpected character", pos)
            num = m.group()
            value = float(num) if any(c in num for c in ".eE") else _parse_int(num)
            pos = m.end()
        # a value is complete: attach it to its container, closing containers as they end
        while True:
            pos = _skip_ws(text, pos)
            if not stack:
                if pos != n:
                    raise fail("extra data after the value", pos)
                return value
            container, key = stack[-1]
            if key is not None:
                container[key] = value
            else:
                container.append(value)
            if pos >= n:
                raise fail("unexpected end of the body", pos)
            sep = text[pos]
            closer = "}" if key is not None else "]"
            if sep == ",":
                pos = _skip_ws(text, pos + 1)
                if key is not None:
                    if pos >= n or text[pos] != '"':
                        raise fail("expected a property name in double quotes", pos)
                    try:
                        key, pos = _scanstring(text, pos + 1, True)
                    except json.JSONDecodeError as exc:
                        raise fail(exc.msg, exc.pos) from None
                    pos = _skip_ws(text, pos)
                    if pos >= n or text[pos] != ":":
                        raise fail("expected ':' after a property name", pos)
                    stack[-1] = (container, key)
                    pos = _skip_ws(text, pos + 1)
                break  # the next value
            if sep != closer:
                raise fail(f"expected ',' or '{closer}'", pos)
            stack.pop()
            value, pos = container, pos + 1


# What JSON.parse holds differently from orjson.loads: a long integer (JavaScript rounds it to a
# double) or an object key that is an array index ("0", "12": JavaScript lists those first, in
# numeric order). Only then is the value walked.
_SHAPE = bytes(b"0"[0] if 0x30 <= b <= 0x39 else b if b in b'":' else b"x"[0] for b in range(256))
_INDEX_KEY = re.compile(rb'"0{1,10}":')
_LONG_DIGITS = b"0" * 16  # 2**53 has 16 digits: a shorter run of digits is a safe integer


def _needs_js_walk(raw: bytes, value: Any) -> bool:
    shape = raw.translate(_SHAPE, b" \t\n\r")
    # rfind, not `in`: CPython's reverse search is faster on this text of few distinct bytes
    # (15-40% on the bench's batches)
    if shape.rfind(b'0":') >= 0 and _INDEX_KEY.search(shape):
        return True
    if shape.rfind(_LONG_DIGITS) < 0:
        return False
    try:
        orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return True
    return False


def js_values(value: Any) -> Any:
    """``value`` as JavaScript holds it: integers beyond 2**53 become doubles, integral floats
    ints (one number type), array-index keys first in every object. Iterative (any depth)."""
    root: list[Any] = [value]
    todo: list[tuple[Any, Any]] = [(root, 0)]
    while todo:
        parent, slot = todo.pop()
        v = parent[slot]
        t = type(v)
        if t is dict:
            v = with_key_order(v)
            parent[slot] = v
            for k, child in v.items():
                if type(child) in _WALK:
                    todo.append((v, k))
        elif t is list:
            for i, child in enumerate(v):
                if type(child) in _WALK:
                    todo.append((v, i))
        elif t is float:
            if v.is_integer() and -_MAX_SAFE <= v <= _MAX_SAFE:
                parent[slot] = int(v)
        elif t is int and not -_MAX_SAFE <= v <= _MAX_SAFE:
            parent[slot] = float(v)
    return root[0]


_WALK = (dict, list, float, int)


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects/arrays more than ``limit`` levels deep (``{}`` is 1)."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        v, d = todo.pop()
        children: Iterable[Any]
        if type(v) is dict:
            children = v.values()
        elif type(v) is list:
            children = v
        else:
            continue
        if d > limit:
            return True
        for c in children:
            if type(c) is dict or type(c) is list:
                todo.append((c, d + 1))
    return False


# What stays of JSON text once its strings' escapes are gone: quotes and brackets ({} as []).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_SQUARE = bytes.maketrans(b"{}", b"[]")
# A string once only quotes and brackets are left: its quotes and the brackets it holds.
_STRING = re.compile(rb'"[^"]*+"')


def nests_within(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw`` (text that parses) nests objects and arrays at most ``limit``
    levels deep (``{}`` is 1), read from the bytes in a few passes of C instead of a walk of the
    parsed value. False also when it cannot tell (then walk with :func:`depth_exceeds`).

    The escaped backslashes, then the escaped quotes, are dropped, so every quote left opens or
    closes a string; then everything but quotes and brackets. Taking away two quotes side by
    side (an empty string, or one string's end and the next one's start: the strings merge)
    leaves the quotes alternating, so once the ``""`` pairs are gone, what remains between
    quotes is the brackets of strings that hold some: they go with their quotes. Each pass of
    removing ``[]`` pairs then takes away exactly one level (the innermost containers)."""
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    s = raw.translate(_SQUARE, _NOT_STRUCTURE).replace(b'""', b"")
    if 34 in s:  # a quote: some string holds a bracket
        s = _STRING.sub(b"", s)
    for _ in range(limit):
        if not s:
            return True
        inner = s.replace(b"[]", b"")
        if len(inner) == len(s):  # unbalanced: not JSON text that parses
            return False
        s = inner
    return not s


def loads(data: bytes | str) -> Any:
    """Read back JSON this project wrote (stored messages, dead letters): orjson, with
    :func:`parse` for what orjson refuses (lone surrogate escapes, deep nesting)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return parse(data)


# --- writing ---------------------------------------------------------------------------------

_LONE = re.compile("[\ud800-\udfff]")


def _escape_lone(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def well_formed(text: str) -> str:
    """``text`` with each lone surrogate written as its ``\\udxxx`` escape, for where only valid
    Unicode goes (database text columns, hashes, log lines): ids, partition keys, reasons."""
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return _LONE.sub(_escape_lone, text)
    return text


def _string_fragment(s: str) -> bytes:
    # json.dumps escapes what JSON.stringify escapes ('"', '\\', control characters as \b \f \n
    # \r \t or \u00xx); with ensure_ascii off the rest is left as it is, and the lone surrogates
    # become the \udxxx escapes JSON.stringify writes for them.
    return _LONE.sub(_escape_lone, json.dumps(s, ensure_ascii=False)).encode()


def _has_lone(s: str) -> bool:
    return _LONE.search(s) is not None


def _fragments(value: Any) -> Any:
    """``value`` with every string holding a lone surrogate replaced by an ``orjson.Fragment``
    of its escaped JSON (objects with such a key become fragments themselves)."""
    t = type(value)
    if t is str:
        return orjson.Fragment(_string_fragment(value)) if _has_lone(value) else value
    if t is dict:
        if any(type(k) is str and _has_lone(k) for k in value):
            parts = [_string_fragment(str(k)) + b":" + dumps(v) for k, v in value.items()]
            return orjson.Fragment(b"{" + b",".join(parts) + b"}")
        return {k: _fragments(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [_fragments(v) for v in value]
    return value


def dumps(value: Any, default: Any = None) -> bytes:
    """``orjson.dumps(value)``, also for strings holding lone surrogates (written as
    ``JSON.stringify`` writes them). Other errors (depth beyond orjson's 254 levels, unsupported
    types without ``default``) raise ``orjson.JSONEncodeError`` as orjson does."""
    try:
        return orjson.dumps(value, default=default)
    except orjson.JSONEncodeError as exc:
        if "surrogates not allowed" not in str(exc):
            raise
    return orjson.dumps(_fragments(value), default=default)
