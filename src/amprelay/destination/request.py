"""The outbound HTTP request an action produces: plain data, no I/O.

Bodies are serialised the way the reference (Node.js) serialises them: ``JSON.stringify`` for
JSON bodies and ``URLSearchParams`` for form bodies. :func:`to_json_bytes` reproduces
``JSON.stringify``'s number formatting (JavaScript has one number type: ``1.0`` is written
``1``, ``1e-6`` is written ``0.000001``, integers beyond 2**53 lose precision, NaN is
``null``); the key order is the order in which the actions assemble their objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from amprelay.js import MAX_SAFE_INTEGER, number_to_string
from amprelay.js.json import dumps as _dumps

_FLOAT_OR_CONTAINER = (float, dict, list, tuple)
# orjson differs from JSON.stringify only for integral floats ("1.0"), for [1e-6, 1e-5) ("1e-6")
# and for [1e16, 1e21) ("1e+16"): a body without ".0", "e+" and "e-6" is written as JavaScript
# writes it (and one with them mostly only needs its "D.0" numbers cut, see below).
_EXPONENT_SUSPECT = (b"e-6", b"e+")


def _js_float(x: float) -> Any:
    if x != x or x in (math.inf, -math.inf):
        return None
    if x.is_integer() and -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER:
        return int(x)
    ax = abs(x)
    if ax < 1e-5 or ax >= MAX_SAFE_INTEGER:
        return orjson.Fragment(number_to_string(x))
    return x


def jsify(value: Any) -> Any:
    """A copy of ``value`` whose numbers serialise as JavaScript would write them (integers
    beyond 2**53 become the double JavaScript would hold)."""
    t = type(value)
    if t is dict:
        return {
            k: (jsify(v) if type(v) in _FLOAT_OR_CONTAINER or (type(v) is int and not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER) else v)
            for k, v in value.items()
        }
    if t is list or t is tuple:
        return [
            jsify(v) if type(v) in _FLOAT_OR_CONTAINER or (type(v) is int and not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER) else v
            for v in value
        ]
    if t is float:
        return _js_float(value)
    if t is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return _js_float(float(value))
    return value


_NUMBER_END = frozenset(b",]}")
_NUMBER_START = frozenset(b":,[")
_DIGIT = frozenset(b"0123456789")
_QUOTE = ord('"')


def _drop_integral_fractions(out: bytes, i: int) -> bytes | None:
    """``out`` (orjson's bytes, ``i`` the first ``.0`` in it or -1) with every integral float
    orjson wrote as ``D.0`` written as JavaScript does (``D``; ``-0.0`` as ``0``), or None when
    only :func:`jsify` can tell: an exponent outside strings, or a backslash (then quotes
    cannot be told from escaped ones by counting).

    Without a backslash every ``"`` in orjson's output delimits a string, so a position is
    outside strings exactly when an even number of quotes precede it."""
    if 92 in out:  # a backslash
        return None
    count = out.count
    for suspect in _EXPONENT_SUSPECT:
        e = out.find(suspect)
        while e != -1:
            if count(_QUOTE, 0, e) % 2 == 0:
                return None
            e = out.find(suspect, e + 2)
    parts: list[bytes] = []
    start = 0
    quotes = 0
    scanned = 0
    while i != -1:
        if out[i + 2 : i + 3] and out[i + 2] in _NUMBER_END:
            quotes += count(_QUOTE, scanned, i)
            scanned = i
            if quotes % 2 == 0:
                j = i - 1
                while out[j] in _DIGIT:
                    j -= 1
                negative = out[j] == 45  # "-"
                if out[j - 1 if negative else j] in _NUMBER_START and j < i - 1:
                    parts.append(out[start:i])
                    if negative and out[j + 1 : i] == b"0":
                        parts[-1] = parts[-1][:-2] + b"0"
                    start = i + 2
        i = out.find(b".0", i + 2)
    if not parts:
        return out
    parts.append(out[start:])
    return b"".join(parts)


def to_json_bytes(obj: Any) -> bytes:
    """``JSON.stringify(obj)`` as UTF-8 bytes (key order as given)."""
    try:
        out = orjson.dumps(obj, option=orjson.OPT_STRICT_INTEGER)
    except TypeError:  # an integer beyond 2**53 (JavaScript holds the nearest double), a lone surrogate
        return _dumps(jsify(obj))
    i = out.find(b".0")
    if i == -1 and b"e+" not in out and b"e-6" not in out:
        return out
    fixed = _drop_integral_fractions(out, i)
    return _dumps(jsify(obj)) if fixed is None else fixed


_TINY = b"e-6"  # how orjson writes 1e-6 <= |x| < 1e-5 (JavaScript: 0.000001...)


def js_body_bytes(obj: Any) -> bytes:
    """``JSON.stringify(obj)`` for a body whose floats are as :func:`amprelay.js.js_number`
    gives them (what the engine's payloads and the actions' arithmetic hold): then orjson
    writes every number as JavaScript does, but for an int beyond 2**53 (orjson refuses it) and
    a float in ``[1e-6, 1e-5)`` (orjson's only other notation, ``e-6``); both take the exact
    writer. No fix-up scan for ``.0`` or ``e+``: no such float is left."""
    try:
        out = orjson.dumps(obj, option=orjson.OPT_STRICT_INTEGER)
    except TypeError:  # an integer beyond 2**53, a lone surrogate
        return _dumps(jsify(obj))
    if _TINY in out and _tiny_outside_strings(out):
        return _dumps(jsify(obj))
    return out


def _tiny_outside_strings(out: bytes) -> bool:
    """Whether an ``e-6`` in orjson's ``out`` may be a number's (it is not when an odd number of
    quotes precede it and no backslash makes quotes ambiguous)."""
    if 92 in out:  # a backslash
        return True
    e = out.find(_TINY)
    while e != -1:
        if out.count(_QUOTE, 0, e) % 2 == 0:
            return True
        e = out.find(_TINY, e + 3)
    return False


def to_json_text(obj: Any) -> str:
    return to_json_bytes(obj).decode()


_FORM_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")
_FORM_SAFE_BYTES = bytes(sorted(_FORM_SAFE))
_BYTE = [bytes((b,)) for b in range(256)]
_FORM_BYTE = [_BYTE[b] if b in _FORM_SAFE else (b"+" if b == 0x20 else b"%%%02X" % b) for b in range(256)]


def form_quote_bytes(text: str) -> bytes:
    """One ``URLSearchParams`` component, as the ASCII bytes sent: each distinct unsafe byte of
    the UTF-8 text is replaced in one C-level ``bytes.replace``."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: URLSearchParams takes USVStrings (U+FFFD for it)
        raw = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()
    unsafe = raw.translate(None, _FORM_SAFE_BYTES)
    if not unsafe:
        return raw
    present = set(unsafe)
    # "%" first, then "+": the other replacements introduce them ("%XX", and "+" for a space)
    if 0x25 in present:
        present.discard(0x25)
        raw = raw.replace(b"%", b"%25")
    if 0x2B in present:
        present.discard(0x2B)
        raw = raw.replace(b"+", b"%2B")
    for b in present:
        raw = raw.replace(_BYTE[b], _FORM_BYTE[b])
    return raw


def form_quote(text: str) -> str:
    """:func:`form_quote_bytes` as text (delivery's batcher writes form bodies with the same bytes)."""
    return form_quote_bytes(text).decode("ascii")


def form_urlencode(form: dict[str, str]) -> bytes:
    """``new URLSearchParams(form).toString()``: UTF-8 percent-encoding, spaces as ``+``, only
    ``*-._`` and ASCII alphanumerics left as they are."""
    names = _FORM_NAMES
    parts = []
    for k, v in form.items():
        name = names.get(k)
        if name is None:
            name = form_quote_bytes(k) + b"="
            if len(names) < 64:
                names[k] = name
        parts.append(name + form_quote_bytes(v))
    return b"&".join(parts)


#: field name -> its encoding and "=" (the actions send a handful of names: each is encoded once)
_FORM_NAMES: dict[str, bytes] = {}


@dataclass(slots=True)
class AmplitudeRequest:
    """One HTTP request to Amplitude.

    ``json`` holds the JSON body (for ``encoding == "json"``); ``form`` holds the form fields as
    strings, exactly as they are sent (for ``encoding == "form"``; Amplitude's Identify, Group
    Identify and User Mapping APIs take ``application/x-www-form-urlencoded``).

    Not frozen, to be built at the cost of plain attribute stores (a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__``): a request is not changed
    once its action returns it, but for ``js_numbers``, which the engine sets.
    """

    method: str
    url: str
    encoding: Literal["json", "form"]
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: the JSON body's numbers are already as JavaScript holds them (:func:`amprelay.js.js_number`;
    #: set by the engine, whose payloads are): it is serialised with no fix-up pass
    js_numbers: bool = field(default=False, compare=False, repr=False)

    @property
    def content_type(self) -> str:
        if self.encoding == "json":
            return "application/json"
        return "application/x-www-form-urlencoded;charset=UTF-8"

    def body_bytes(self) -> bytes:
        """The exact bytes sent: ``JSON.stringify`` or ``URLSearchParams`` serialisation."""
        if self.encoding == "json":
            if self.js_numbers:
                return js_body_bytes(self.json or {})
            return to_json_bytes(self.json or {})
        return form_urlencode(self.form or {})

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


def post_json(url: str, body: dict[str, Any]) -> AmplitudeRequest:
    """``AmplitudeRequest("POST", url, "json", json=body)`` (the actions' hot path: positional)."""
    return AmplitudeRequest("POST", url, "json", body)


def post_form(url: str, form: dict[str, str]) -> AmplitudeRequest:
    """``AmplitudeRequest("POST", url, "form", form=form)``."""
    return AmplitudeRequest("POST", url, "form", None, form)
