"""The Liquid filters liquidjs 10.25 provides (those actions-core disables raise LiquidError)."""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from amprelay.js import (
    UNDEFINED,
    json_stringify,
    round_half_up,
    to_string,
)

from .values import (
    BLANK_CHARS,
    DISABLED_FILTERS,
    LiquidError,
    falsy,
    js_to_number,
    num,
    stringify,
    to_number,
    to_value,
)


def _math(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        return fn(*[to_number(a) for a in args])

    return run


def _div(a: Any, b: Any, integer: Any = False) -> Any:
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.inf if a > 0 else -math.inf
    r = a / b
    return math.floor(r) if integer else num(r)


def _mod(a: Any, b: Any) -> Any:
    if b == 0 or a in (math.inf, -math.inf):
        return math.nan
    return num(math.fmod(a, b))


def _round(v: Any, arg: Any = 0) -> Any:
    v, arg = to_number(v), to_number(arg)
    amp = 10 ** arg
    scaled = v * amp
    sign = (v > 0) - (v < 0)
    return num(sign * round_half_up(abs(scaled)) / amp)


def _nan_safe(fn: Callable[[float], Any]) -> Callable[[Any], Any]:
    def run(x: Any) -> Any:
        if x != x or x in (math.inf, -math.inf):
            return x
        return num(fn(x))

    return run


def _truncate(v: Any, length: Any = 50, o: Any = "...") -> Any:
    s = stringify(v)
    o = stringify(o)
    if type(length) not in (int, float):
        length = js_to_number(length)
    if len(s) <= length:
        return v
    cut = int(length - len(o))
    return (s[:cut] if cut >= 0 else s[: max(len(s) + cut, 0)]) + o


def _default(v: Any, d: Any = UNDEFINED, *rest: Any) -> Any:
    v = to_value(v)
    if type(v) in (list, str):
        return v if len(v) else d
    opts: dict[Any, Any] = dict(r for r in rest if type(r) is tuple)
    if v is False and opts.get("allow_false"):
        return False
    return d if falsy(v) else v


def _size(v: Any) -> Any:
    if type(v) in (str, list):
        return len(v) if v else 0
    if type(v) is dict and "length" in v:
        return v["length"] or 0
    return 0


def _split(v: Any, sep: Any = UNDEFINED) -> list[Any]:
    s = stringify(v)
    sep_s = stringify(sep) if sep is not UNDEFINED else "undefined"
    arr = list(s) if sep_s == "" else s.split(sep_s)
    while arr and arr[-1] == "":
        arr.pop()
    return arr


def _join(v: Any, sep: Any = None) -> str:
    arr = _to_array(v)
    sep_s = " " if sep is None or sep is UNDEFINED else stringify(sep)
    return sep_s.join("" if x is None or x is UNDEFINED else to_string(to_value(x)) for x in arr)


def _to_array(v: Any) -> list[Any]:
    v = to_value(v)
    if v is None or v is UNDEFINED:
        return []
    if type(v) is list:
        return v
    return [v]


def _first(v: Any) -> Any:
    v = to_value(v)
    if type(v) in (str, list):
        return v[0] if v else UNDEFINED
    return ""


def _last(v: Any) -> Any:
    v = to_value(v)
    if type(v) in (str, list):
        return v[-1] if v else UNDEFINED
    return ""


def _slice(v: Any, begin: Any = 0, length: Any = 1) -> Any:
    v = to_value(v)
    if v is None or v is UNDEFINED:
        return []
    if type(v) is not list:
        v = stringify(v)
    begin = int(to_number(begin))
    length = int(to_number(length))
    if begin < 0:
        begin = len(v) + begin
    start = max(begin, 0)
    end = begin + length
    return v[start:end] if end > start else v[0:0]


def _strip_chars(which: str) -> Callable[..., str]:
    def run(v: Any, chars: Any = UNDEFINED) -> str:
        s = stringify(v)
        if chars is not UNDEFINED and chars is not None and chars is not False and chars != "" and chars != 0:
            cs = stringify(chars)
        else:
            cs = BLANK_CHARS + "\ufeff"
        if which == "l":
            return s.lstrip(cs)
        if which == "r":
            return s.rstrip(cs)
        return s.strip(cs)

    return run


def _escape(v: Any) -> str:
    s = stringify(v)
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;"))


def _unescape(v: Any) -> str:
    return re.sub(r"&(amp|lt|gt|#34|#39);",
                  lambda m: {"amp": "&", "lt": "<", "gt": ">", "#34": '"', "#39": "'"}[m.group(1)],
                  stringify(v))


def _url_encode(v: Any) -> str:
    return urllib.parse.quote(stringify(v), safe="-_.!~*'()").replace("%20", "+")


def _json(v: Any, space: Any = 0) -> Any:
    if space not in (0, None, UNDEFINED):
        raise LiquidError("json filter with indentation is not supported")
    return json_stringify(v)


def _capitalize(v: Any) -> str:
    s = stringify(v)
    return s[:1].upper() + s[1:].lower()


def _replace_first(v: Any, a: Any = UNDEFINED, b: Any = UNDEFINED) -> str:
    s, a_s, b_s = stringify(v), stringify(a), stringify(b)
    return s.replace(a_s, b_s, 1)


def _remove_last(v: Any, a: Any = UNDEFINED) -> str:
    s, a_s = stringify(v), stringify(a)
    i = s.rfind(a_s)
    return s if i < 0 else s[:i] + s[i + len(a_s):]


def _replace_last(v: Any, a: Any = UNDEFINED, b: Any = UNDEFINED) -> str:
    s, a_s, b_s = stringify(v), stringify(a), stringify(b)
    i = s.rfind(a_s)
    return s if i < 0 else s[:i] + b_s + s[i + len(a_s):]


def _compact(v: Any) -> list[Any]:
    return [x for x in _to_array(v) if x is not None and x is not UNDEFINED]


_FILTERS: dict[str, Callable[..., Any]] = {
    "abs": _math(_nan_safe(abs)),
    "at_least": _math(lambda *a: max(a) if a else -math.inf),
    "at_most": _math(lambda *a: min(a) if a else math.inf),
    "ceil": _math(_nan_safe(math.ceil)),
    "floor": _math(_nan_safe(math.floor)),
    "divided_by": _math(_div),
    "minus": _math(lambda a, b=0: num(a - b)),
    "plus": _math(lambda a, b=0: num(a + b)),
    "times": _math(lambda a, b=0: num(a * b)),
    "modulo": _math(lambda a, b=0: _mod(a, b)),
    "round": _round,
    "url_encode": _url_encode,
    "url_decode": lambda v: urllib.parse.unquote(stringify(v), errors="strict").replace("+", " "),
    "join": _join,
    "first": _first,
    "last": _last,
    "size": _size,
    "compact": _compact,
    "slice": _slice,
    "append": lambda v, a=UNDEFINED: stringify(v) + stringify(a),
    "prepend": lambda v, a=UNDEFINED: stringify(a) + stringify(v),
    "lstrip": _strip_chars("l"),
    "rstrip": _strip_chars("r"),
    "strip": _strip_chars("b"),
    "downcase": lambda v: stringify(v).lower(),
    "upcase": lambda v: stringify(v).upper(),
    "remove": lambda v, a=UNDEFINED: stringify(v).replace(stringify(a), "") if stringify(a) else stringify(v),
    "remove_first": lambda v, a=UNDEFINED: stringify(v).replace(stringify(a), "", 1),
    "remove_last": _remove_last,
    "split": _split,
    "strip_newlines": lambda v: re.sub(r"\r?\n", "", stringify(v)),
    "capitalize": _capitalize,
    "replace": lambda v, a=UNDEFINED, b=UNDEFINED: stringify(v).replace(stringify(a), stringify(b))
    if stringify(a) else stringify(b).join(list(stringify(v))) if stringify(v) else "",
    "replace_first": _replace_first,
    "replace_last": _replace_last,
    "truncate": _truncate,
    "normalize_whitespace": lambda v: re.sub(r"\s+", " ", stringify(v)),
    "default": _default,
    "json": _json,
    "jsonify": _json,
    "to_integer": lambda v: js_to_number(v),
    "escape": _escape,
    "xml_escape": _escape,
    "unescape": _unescape,
    "escape_once": lambda v: _escape(_unescape(v)),
    "strip_html": lambda v: re.sub(r"<script[\s\S]*?</script>|<style[\s\S]*?</style>|<.*?>|<!--[\s\S]*?-->", "",
                                   stringify(v)),
}


def compile_filter(name: str, args: tuple[Any, ...]) -> Callable[[Any, Any], Any]:
    if name in DISABLED_FILTERS:
        def disabled(ctx: Any, v: Any) -> Any:
            raise LiquidError(f'filter "{name}" is disabled')

        return disabled
    if name == "raw":
        return lambda ctx, v: v
    impl = _FILTERS.get(name)
    if impl is None:
        if name in _UNSUPPORTED_FILTERS:
            def unsupported(ctx: Any, v: Any) -> Any:
                raise LiquidError(f'filter "{name}" is not supported by amprelay')

            return unsupported
        return lambda ctx, v: v  # strictFilters off: unknown filters are the identity

    def run(ctx: Any, v: Any) -> Any:
        vals = []
        for a in args:
            if type(a) is tuple:
                vals.append((a[0], a[1](ctx) if a[1] is not None else UNDEFINED))
            else:
                vals.append(a(ctx))
        try:
            return impl(v, *vals)
        except TypeError as e:
            raise LiquidError(f"filter {name}: {e}") from None
        except (ValueError, OverflowError, UnicodeDecodeError) as e:
            raise LiquidError(f"filter {name}: {e}") from None

    return run


_UNSUPPORTED_FILTERS = {
    "date", "date_to_xmlschema", "date_to_rfc822", "date_to_string", "date_to_long_string", "sum",
    "push", "unshift", "pop", "shift", "where", "sample", "slugify", "cgi_escape", "uri_escape",
    "truncatewords", "number_of_words", "base64_encode", "base64_decode", "inspect",
}
