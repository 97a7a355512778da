"""A subset of liquidjs 10.25 for mapping-kit's @liquid directive.

Configured like actions-core 3.170.0: tags case/for/include/layout/render/tablerow and a list of
filters are disabled; unknown filters are the identity (strictFilters off); only `false`, `nil` and
undefined are falsy. Supported: `{{ output }}` with filters, whitespace control, tags if/elsif/else,
unless, assign, capture, echo, comment, raw, `#` comments, increment/decrement. Unsupported
constructs raise LiquidError (so the field fails instead of silently differing).
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from amprelay.errors import AmprelayError
from amprelay.js import (
    UNDEFINED,
    json_stringify,
    normalize_number,
    number_to_string,
    string_to_number,
    to_string,
    utf16_len,
)

__all__ = ["LiquidError", "compile_liquid"]


class LiquidError(AmprelayError):
    pass


DISABLED_TAGS = {"case", "for", "include", "layout", "render", "tablerow"}
DISABLED_FILTERS = {
    "array_to_sentence_string", "concat", "find", "find_exp", "find_index", "find_index_exp",
    "group_by", "group_by_exp", "has", "has_exp", "map", "newline_to_br", "reject", "reject_exp",
    "reverse", "sort", "sort_natural", "uniq", "where_exp", "type",
}

_BLANK = "\t\n\x0b\x0c\r \u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_WORD_ASCII = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-?")
_NONWORD_HIGH = set(_BLANK[5:]) | {"\u201c", "\u201d"}


def _is_word(ch: str) -> bool:
    if not ch:
        return False
    if ord(ch) >= 128:
        return ch not in _NONWORD_HIGH
    return ch in _WORD_ASCII


class _Empty:
    """liquidjs EmptyDrop (`empty`)."""

    blank = False

    def equals(self, value: Any) -> bool:
        if isinstance(value, _Empty):
            return False
        t = type(value)
        if t is str or t is list:
            return len(value) == 0
        if t is dict:
            return len(value) == 0
        return False


class _Blank(_Empty):
    blank = True

    def equals(self, value: Any) -> bool:
        if value is False or value is None or value is UNDEFINED:
            return True
        if type(value) is str:
            return value.strip(" \t\n\r\x0b\x0c") == "" or re.fullmatch(r"\s*", value) is not None
        return super().equals(value)


class _Null:
    """liquidjs NullDrop (`nil`/`null` literals): equal to null and undefined."""

    def equals(self, value: Any) -> bool:
        return value is None or value is UNDEFINED or isinstance(value, _Null)


EMPTY = _Empty()
BLANK = _Blank()
NIL = _Null()
_LITERALS = {"true": True, "false": False, "nil": NIL, "null": NIL, "empty": EMPTY, "blank": BLANK}
_OPERATORS = ["==", "!=", ">=", "<=", ">", "<", "contains", "not", "and", "or"]
_PRECEDENCE = {"==": 2, "!=": 2, ">": 2, "<": 2, ">=": 2, "<=": 2, "contains": 2, "not": 1, "and": 0, "or": 0}


# ---------------------------------------------------------------- value helpers


def _to_value(v: Any) -> Any:
    if isinstance(v, _Empty):
        return ""
    if v is NIL:
        return None
    return v


def _stringify(v: Any) -> str:
    v = _to_value(v)
    t = type(v)
    if t is str:
        return v
    if v is None or v is UNDEFINED:
        return ""
    if t is list:
        return "".join(_stringify(x) for x in v)
    if t is bool:
        return "true" if v else "false"
    if t is int or t is float:
        return number_to_string(v)
    if t is range:
        return "".join(str(i) for i in v)
    return "[object Object]"


def _js_to_number(v: Any) -> float | int:
    v = _to_value(v)
    t = type(v)
    if t is bool:
        return 1 if v else 0
    if t is int or t is float:
        return v
    if v is None:
        return 0
    if v is UNDEFINED:
        return math.nan
    if t is list:
        if len(v) == 0:
            return 0
        if len(v) == 1:
            return _js_to_number(_stringify_js(v[0]))
        return math.nan
    if t is str:
        return normalize_number(string_to_number(v))
    return math.nan


def _stringify_js(v: Any) -> Any:
    if v is None or v is UNDEFINED:
        return ""
    return v


def _to_number(v: Any) -> float | int:
    """`+toValue(v) || 0`."""
    n = _js_to_number(v)
    if n != n or n == 0:
        return 0
    return n


def _num(x: float | int) -> float | int:
    if type(x) is float and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _falsy(v: Any) -> bool:
    return v is False or v is None or v is UNDEFINED


def _equals(lhs: Any, rhs: Any) -> bool:
    if lhs is NIL:
        return NIL.equals(_to_value(rhs))
    if rhs is NIL:
        return NIL.equals(_to_value(lhs))
    if isinstance(lhs, _Empty):
        return lhs.equals(rhs)
    if isinstance(rhs, _Empty):
        return rhs.equals(lhs)
    if type(lhs) is list:
        return type(rhs) is list and len(lhs) == len(rhs) and all(_equals(a, b) for a, b in zip(lhs, rhs, strict=True))
    if type(lhs) is bool or type(rhs) is bool:
        return type(lhs) is type(rhs) and lhs == rhs
    if lhs is UNDEFINED or rhs is UNDEFINED:
        return lhs is rhs
    if type(lhs) in (dict, list) or type(rhs) in (dict, list):
        return lhs is rhs
    if type(lhs) in (int, float) and type(rhs) in (int, float):
        return lhs == rhs
    return type(lhs) is type(rhs) and lhs == rhs


def _to_primitive(v: Any) -> Any:
    t = type(v)
    if t is list:
        return to_string(v)
    if t is dict:
        return "[object Object]"
    return v


def _compare(op: str, lhs: Any, rhs: Any) -> bool:
    if isinstance(lhs, (_Empty, _Null)) or isinstance(rhs, (_Empty, _Null)):
        return False
    a, b = _to_primitive(lhs), _to_primitive(rhs)
    if type(a) is str and type(b) is str:
        ka, kb = a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
    else:
        ka, kb = _js_to_number(a), _js_to_number(b)
        if ka != ka or kb != kb:
            return False
    if op == ">":
        return ka > kb
    if op == "<":
        return ka < kb
    if op == ">=":
        return ka >= kb
    return ka <= kb


def _contains(lhs: Any, rhs: Any) -> bool:
    lhs = _to_value(lhs)
    if type(lhs) is list:
        return any(_equals(i, rhs) for i in lhs)
    if type(lhs) is str:
        r = _to_value(rhs)
        return to_string(r) in lhs
    return False


def _read_property(obj: Any, key: Any) -> Any:
    key = _to_value(key)
    if obj is None or obj is UNDEFINED:
        return obj
    t = type(obj)
    if t is list and type(key) in (int, float) and key < 0:
        idx = len(obj) + key
        return obj[int(idx)] if float(idx).is_integer() and 0 <= idx < len(obj) else UNDEFINED
    if type(key) in (int, float):
        skey = number_to_string(key)
    elif type(key) is str:
        skey = key
    elif type(key) is bool:
        skey = "true" if key else "false"
    elif key is None:
        skey = "null"
    elif key is UNDEFINED:
        skey = "undefined"
    else:
        skey = _stringify(key)
    if skey == "size":
        if t is dict and "size" in obj:
            return obj["size"]
        if t is list:
            return len(obj)
        if t is str:
            return utf16_len(obj)
        if t is dict:
            return len(obj)
        return UNDEFINED
    if skey == "first":
        if t is list:
            return obj[0] if obj else UNDEFINED
        return obj.get("first", UNDEFINED) if t is dict else UNDEFINED
    if skey == "last":
        if t is list:
            return obj[-1] if obj else UNDEFINED
        return obj.get("last", UNDEFINED) if t is dict else UNDEFINED
    if t is dict:
        return obj.get(skey, UNDEFINED)
    if t is list or t is str:
        if skey.isascii() and skey.isdigit() and (skey == "0" or skey[0] != "0"):
            i = int(skey)
            return obj[i] if i < len(obj) else UNDEFINED
        if skey == "length":
            return len(obj)
        return UNDEFINED
    return UNDEFINED


# ---------------------------------------------------------------- tokenizer for expressions


class _Tok:
    def __init__(self, text: str):
        self.s = text
        self.p = 0
        self.n = len(text)

    def peek(self, k: int = 0) -> str:
        i = self.p + k
        return self.s[i] if i < self.n else ""

    def skip_blank(self) -> None:
        while self.p < self.n and self.s[self.p] in _BLANK:
            self.p += 1

    def end(self) -> bool:
        return self.p >= self.n

    def read_identifier(self) -> str:
        self.skip_blank()
        b = self.p
        while self.p < self.n and _is_word(self.s[self.p]):
            self.p += 1
        return self.s[b : self.p]

    def _match_word(self, words: list[str]) -> str | None:
        best = None
        for w in words:
            if self.s.startswith(w, self.p):
                if _is_word(w[-1]) and _is_word(self.peek(len(w))):
                    continue
                if best is None or len(w) > len(best):
                    best = w
        return best

    def read_operator(self) -> str | None:
        self.skip_blank()
        op = self._match_word(_OPERATORS)
        if op is not None:
            self.p += len(op)
        return op

    def read_value(self) -> Any:
        """Returns an evaluator `ctx -> value` or None."""
        self.skip_blank()
        begin = self.p
        variable = self.read_literal() or self.read_quoted() or self.read_range() or self.read_number()
        props = self.read_properties(variable is None)
        if not props:
            return variable
        access = _make_access(variable, props)
        access.text = self.s[begin : self.p]  # type: ignore[attr-defined]
        return access

    def read_literal(self) -> Any:
        self.skip_blank()
        w = self._match_word(list(_LITERALS))
        if w is None:
            return None
        self.p += len(w)
        value = _LITERALS[w]
        return lambda ctx: value

    def read_quoted(self) -> Any:
        self.skip_blank()
        b = self.p
        q = self.peek()
        if q not in ("'", '"'):
            return None
        self.p += 1
        escaped = False
        while self.p < self.n:
            self.p += 1
            c = self.s[self.p - 1]
            if c == q and not escaped:
                break
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
        value = _parse_string_literal(self.s[b : self.p])
        return _Quoted(value)

    def read_range(self) -> Any:
        self.skip_blank()
        if self.peek() != "(":
            return None
        self.p += 1
        lhs = self.read_value()
        if lhs is None:
            raise LiquidError("unexpected token, value expected")
        self.skip_blank()
        if not (self.peek() == "." and self.peek(1) == "."):
            raise LiquidError("invalid range syntax")
        self.p += 2
        rhs = self.read_value()
        if rhs is None:
            raise LiquidError("unexpected token, value expected")
        self.skip_blank()
        if self.peek() != ")":
            raise LiquidError("invalid range syntax")
        self.p += 1

        def ev(ctx: Any) -> Any:
            lo, hi = _to_number(lhs(ctx)), _to_number(rhs(ctx))
            return list(range(int(lo), int(hi) + 1))

        return ev

    def read_number(self) -> Any:
        self.skip_blank()
        n = 0
        decimal = digit = False
        if self.peek() in ("-", "+"):
            n += 1
        while self.p + n <= self.n:
            c = self.peek(n)
            if c.isascii() and c.isdigit() and c != "":
                digit = True
                n += 1
            elif c == "." and self.peek(n + 1) != ".":
                if decimal or not digit:
                    return None
                decimal = True
                n += 1
            else:
                break
        if digit and not _is_word(self.peek(n)):
            text = self.s[self.p : self.p + n]
            self.p += n
            value = _num(float(text))
            return _Quoted(value)
        return None

    def read_properties(self, is_begin: bool) -> list:
        props: list = []
        while True:
            if self.peek() == "[":
                self.p += 1
                prop = self.read_value()
                if prop is None:
                    prop = _Quoted("")
                # readTo(']')
                found = False
                while self.p < self.n:
                    self.p += 1
                    if self.s[self.p - 1] == "]":
                        found = True
                        break
                if not found:
                    raise LiquidError("[ not closed")
                props.append(("value", prop))
                continue
            if is_begin and not props:
                ident = self.read_identifier()
                if ident:
                    props.append(("ident", ident))
                    continue
            if self.peek() == "." and self.peek(1) != ".":
                self.p += 1
                ident = self.read_identifier()
                if not ident:
                    break
                props.append(("ident", ident))
                continue
            break
        return props


class _Quoted:
    """A constant operand (quoted string or number)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __call__(self, ctx: Any) -> Any:
        return self.value


_ESCAPE_CHARS = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\x0b", "0": "\x00",
                 "'": "'", '"': '"', "\\": "\\"}


def _parse_string_literal(raw: str) -> str:
    out = []
    i = 1
    end = len(raw) - 1
    while i < end:
        c = raw[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in _ESCAPE_CHARS:
            out.append(_ESCAPE_CHARS[nxt])
            i += 2
        elif nxt == "u":
            j = i + 2
            val = 0
            while j <= i + 5 and j < len(raw) and raw[j] in "0123456789abcdefABCDEF":
                val = val * 16 + int(raw[j], 16)
                j += 1
            out.append(chr(val))
            i = j
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _make_access(variable: Any, props: list) -> Callable[[Any], Any]:
    def ev(ctx: Any) -> Any:
        if variable is not None:
            obj = variable(ctx)
            rest = props
        else:
            kind, first = props[0]
            key = first if kind == "ident" else first(ctx)
            obj = ctx.lookup(key)
            rest = props[1:]
        for kind, p in rest:
            key = p if kind == "ident" else p(ctx)
            obj = _read_property(obj, key)
        return obj

    return ev


def _parse_expression(tok: _Tok) -> Callable[[Any], Any] | None:
    """Operands and operators to postfix (liquidjs precedence, right-assoc at equal level)."""
    output: list = []
    ops: list[str] = []
    count = 0
    while tok.p < tok.n:
        op = tok.read_operator()
        if op is not None:
            while ops and _PRECEDENCE[ops[-1]] > _PRECEDENCE[op]:
                output.append(("op", ops.pop()))
            ops.append(op)
            count += 1
            continue
        operand = tok.read_value()
        if operand is not None:
            output.append(("val", operand))
            count += 1
            continue
        break
    while ops:
        output.append(("op", ops.pop()))
    if count == 0:
        return None
    postfix = tuple(output)

    def ev(ctx: Any) -> Any:
        stack: list = []
        for kind, item in postfix:
            if kind == "val":
                stack.append(item(ctx))
                continue
            if item == "not":
                v = stack.pop() if stack else UNDEFINED
                stack.append(_falsy(_to_value(v)))
                continue
            r = stack.pop() if stack else UNDEFINED
            l_ = stack.pop() if stack else UNDEFINED
            if item == "==":
                stack.append(_equals(l_, r))
            elif item == "!=":
                stack.append(not _equals(l_, r))
            elif item == "contains":
                stack.append(_contains(l_, r))
            elif item == "and":
                stack.append(not _falsy(_to_value(l_)) and not _falsy(_to_value(r)))
            elif item == "or":
                stack.append(not _falsy(_to_value(l_)) or not _falsy(_to_value(r)))
            else:
                stack.append(_compare(item, l_, r))
        return stack[0] if stack else UNDEFINED

    return ev


def _parse_filtered_value(text: str) -> Callable[[Any], Any]:
    tok = _Tok(text)
    initial = _parse_expression(tok)
    if initial is None:
        raise LiquidError(f'invalid value expression: "{text}"')
    filters = []
    while True:
        tok.skip_blank()
        if tok.end():
            break
        if tok.s[tok.p] != "|":
            raise LiquidError('expected "|" before filter')
        tok.p += 1
        name = tok.read_identifier()
        if not name:
            if not tok.end():
                raise LiquidError("expected filter name")
            break
        args: list = []
        tok.skip_blank()
        if tok.peek() == ":":
            while True:
                tok.p += 1
                key = tok.read_value()
                if key is not None:
                    tok.skip_blank()
                    if tok.peek() == ":":
                        tok.p += 1
                        value = tok.read_value()
                        key_text = _arg_key_text(key)
                        args.append((key_text, value))
                    else:
                        args.append(key)
                tok.skip_blank()
                if not (tok.end() or tok.peek() in (",", "|")):
                    raise LiquidError("unexpected character")
                if tok.peek() != ",":
                    break
        elif tok.peek() == "|" or tok.end():
            pass
        else:
            raise LiquidError('expected ":" after filter name')
        filters.append((name, tuple(args)))
    compiled_filters = tuple(_compile_filter(name, args) for name, args in filters)

    def ev(ctx: Any) -> Any:
        v = initial(ctx)
        for f in compiled_filters:
            v = f(ctx, v)
        return v

    return ev


def _arg_key_text(key: Any) -> str:
    if isinstance(key, _Quoted):
        return _stringify(key.value)
    return getattr(key, "text", "")


# ---------------------------------------------------------------- filters


def _math(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        return fn(*[_to_number(a) for a in args])

    return run


def _div(a: Any, b: Any, integer: Any = False) -> Any:
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.inf if a > 0 else -math.inf
    r = a / b
    return math.floor(r) if integer else _num(r)


def _mod(a: Any, b: Any) -> Any:
    if b == 0 or a in (math.inf, -math.inf):
        return math.nan
    return _num(math.fmod(a, b))


def _js_round(x: float) -> float:
    if x != x or x in (math.inf, -math.inf):
        return x
    return math.floor(x + 0.5)


def _round(v: Any, arg: Any = 0) -> Any:
    v, arg = _to_number(v), _to_number(arg)
    amp = 10 ** arg
    scaled = v * amp
    sign = (v > 0) - (v < 0)
    return _num(sign * _js_round(abs(scaled)) / amp)


def _nan_safe(fn: Callable[[float], Any]) -> Callable[[Any], Any]:
    def run(x: Any) -> Any:
        if x != x or x in (math.inf, -math.inf):
            return x
        return _num(fn(x))

    return run


def _truncate(v: Any, length: Any = 50, o: Any = "...") -> Any:
    s = _stringify(v)
    o = _stringify(o)
    if type(length) not in (int, float):
        length = _js_to_number(length)
    if len(s) <= length:
        return v
    cut = int(length - len(o))
    return (s[:cut] if cut >= 0 else s[: max(len(s) + cut, 0)]) + o


def _default(v: Any, d: Any = UNDEFINED, *rest: Any) -> Any:
    v = _to_value(v)
    if type(v) in (list, str):
        return v if len(v) else d
    opts = dict(r for r in rest if type(r) is tuple)
    if v is False and opts.get("allow_false"):
        return False
    return d if _falsy(v) else v


def _size(v: Any) -> Any:
    if type(v) in (str, list):
        return len(v) if v else 0
    if type(v) is dict and "length" in v:
        return v["length"] or 0
    return 0


def _split(v: Any, sep: Any = UNDEFINED) -> list:
    s = _stringify(v)
    sep_s = _stringify(sep) if sep is not UNDEFINED else "undefined"
    arr = list(s) if sep_s == "" else s.split(sep_s)
    while arr and arr[-1] == "":
        arr.pop()
    return arr


def _join(v: Any, sep: Any = None) -> str:
    arr = _to_array(v)
    sep_s = " " if sep is None or sep is UNDEFINED else _stringify(sep)
    return sep_s.join("" if x is None or x is UNDEFINED else to_string(_to_value(x)) for x in arr)


def _to_array(v: Any) -> list:
    v = _to_value(v)
    if v is None or v is UNDEFINED:
        return []
    if type(v) is list:
        return v
    return [v]


def _first(v: Any) -> Any:
    v = _to_value(v)
    if type(v) in (str, list):
        return v[0] if v else UNDEFINED
    return ""


def _last(v: Any) -> Any:
    v = _to_value(v)
    if type(v) in (str, list):
        return v[-1] if v else UNDEFINED
    return ""


def _slice(v: Any, begin: Any = 0, length: Any = 1) -> Any:
    v = _to_value(v)
    if v is None or v is UNDEFINED:
        return []
    if type(v) is not list:
        v = _stringify(v)
    begin = int(_to_number(begin))
    length = int(_to_number(length))
    if begin < 0:
        begin = len(v) + begin
    start = max(begin, 0)
    end = begin + length
    return v[start:end] if end > start else v[0:0]


def _strip_chars(which: str) -> Callable[..., str]:
    def run(v: Any, chars: Any = UNDEFINED) -> str:
        s = _stringify(v)
        if chars is not UNDEFINED and chars is not None and chars is not False and chars != "" and chars != 0:
            cs = _stringify(chars)
        else:
            cs = _BLANK + "\ufeff"
        if which == "l":
            return s.lstrip(cs)
        if which == "r":
            return s.rstrip(cs)
        return s.strip(cs)

    return run


def _escape(v: Any) -> str:
    s = _stringify(v)
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;"))


def _unescape(v: Any) -> str:
    return re.sub(r"&(amp|lt|gt|#34|#39);",
                  lambda m: {"amp": "&", "lt": "<", "gt": ">", "#34": '"', "#39": "'"}[m.group(1)],
                  _stringify(v))


def _url_encode(v: Any) -> str:
    return urllib.parse.quote(_stringify(v), safe="-_.!~*'()").replace("%20", "+")


def _json(v: Any, space: Any = 0) -> Any:
    if space not in (0, None, UNDEFINED):
        raise LiquidError("json filter with indentation is not supported")
    return json_stringify(v)


def _capitalize(v: Any) -> str:
    s = _stringify(v)
    return s[:1].upper() + s[1:].lower()


def _replace_first(v: Any, a: Any = UNDEFINED, b: Any = UNDEFINED) -> str:
    s, a_s, b_s = _stringify(v), _stringify(a), _stringify(b)
    return s.replace(a_s, b_s, 1)


def _remove_last(v: Any, a: Any = UNDEFINED) -> str:
    s, a_s = _stringify(v), _stringify(a)
    i = s.rfind(a_s)
    return s if i < 0 else s[:i] + s[i + len(a_s):]


def _replace_last(v: Any, a: Any = UNDEFINED, b: Any = UNDEFINED) -> str:
    s, a_s, b_s = _stringify(v), _stringify(a), _stringify(b)
    i = s.rfind(a_s)
    return s if i < 0 else s[:i] + b_s + s[i + len(a_s):]


def _compact(v: Any) -> list:
    return [x for x in _to_array(v) if x is not None and x is not UNDEFINED]


_FILTERS: dict[str, Callable[..., Any]] = {
    "abs": _math(_nan_safe(abs)),
    "at_least": _math(lambda *a: max(a) if a else -math.inf),
    "at_most": _math(lambda *a: min(a) if a else math.inf),
    "ceil": _math(_nan_safe(math.ceil)),
    "floor": _math(_nan_safe(math.floor)),
    "divided_by": _math(_div),
    "minus": _math(lambda a, b=0: _num(a - b)),
    "plus": _math(lambda a, b=0: _num(a + b)),
    "times": _math(lambda a, b=0: _num(a * b)),
    "modulo": _math(lambda a, b=0: _mod(a, b)),
    "round": _round,
    "url_encode": _url_encode,
    "url_decode": lambda v: urllib.parse.unquote(_stringify(v), errors="strict").replace("+", " "),
    "join": _join,
    "first": _first,
    "last": _last,
    "size": _size,
    "compact": _compact,
    "slice": _slice,
    "append": lambda v, a=UNDEFINED: _stringify(v) + _stringify(a),
    "prepend": lambda v, a=UNDEFINED: _stringify(a) + _stringify(v),
    "lstrip": _strip_chars("l"),
    "rstrip": _strip_chars("r"),
    "strip": _strip_chars("b"),
    "downcase": lambda v: _stringify(v).lower(),
    "upcase": lambda v: _stringify(v).upper(),
    "remove": lambda v, a=UNDEFINED: _stringify(v).replace(_stringify(a), "") if _stringify(a) else _stringify(v),
    "remove_first": lambda v, a=UNDEFINED: _stringify(v).replace(_stringify(a), "", 1),
    "remove_last": _remove_last,
    "split": _split,
    "strip_newlines": lambda v: re.sub(r"\r?\n", "", _stringify(v)),
    "capitalize": _capitalize,
    "replace": lambda v, a=UNDEFINED, b=UNDEFINED: _stringify(v).replace(_stringify(a), _stringify(b))
    if _stringify(a) else _stringify(b).join(list(_stringify(v))) if _stringify(v) else "",
    "replace_first": _replace_first,
    "replace_last": _replace_last,
    "truncate": _truncate,
    "normalize_whitespace": lambda v: re.sub(r"\s+", " ", _stringify(v)),
    "default": _default,
    "json": _json,
    "jsonify": _json,
    "to_integer": lambda v: _js_to_number(v),
    "escape": _escape,
    "xml_escape": _escape,
    "unescape": _unescape,
    "escape_once": lambda v: _escape(_unescape(v)),
    "strip_html": lambda v: re.sub(r"<script[\s\S]*?</script>|<style[\s\S]*?</style>|<.*?>|<!--[\s\S]*?-->", "",
                                   _stringify(v)),
}


def _compile_filter(name: str, args: tuple) -> Callable[[Any, Any], Any]:
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


# ---------------------------------------------------------------- template structure


class _Ctx:
    __slots__ = ("env", "scope", "counters")

    def __init__(self, env: Any):
        self.env = env if type(env) is dict else {}
        self.scope: dict = {}
        self.counters: dict = {}

    def lookup(self, key: Any) -> Any:
        if type(key) is not str:
            key = _stringify(key) if not isinstance(key, (int, float)) else number_to_string(key)
        if key in self.scope:
            return self.scope[key]
        if key in self.counters:
            return self.counters[key]
        return self.env.get(key, UNDEFINED)


def _split_top_level(src: str) -> list[tuple[str, str, bool, bool]]:
    """-> [(kind, content, trim_left, trim_right)] with kind in html/output/tag."""
    out: list[tuple[str, str, bool, bool]] = []
    p = 0
    n = len(src)
    while p < n:
        i_out = src.find("{{", p)
        i_tag = src.find("{%", p)
        cands = [i for i in (i_out, i_tag) if i >= 0]
        if not cands:
            out.append(("html", src[p:], False, False))
            break
        i = min(cands)
        if i > p:
            out.append(("html", src[p:i], False, False))
        is_tag = src.startswith("{%", i)
        close = "%}" if is_tag else "}}"
        j = i + 2
        found = -1
        while j < n:
            c = src[j]
            if not is_tag and c in ("'", '"'):
                k = j + 1
                while k < n and src[k] != c:
                    k += 1
                j = k + 1
                continue
            if src.startswith(close, j):
                found = j
                break
            j += 1
        if found < 0:
            kind = "tag" if is_tag else "output"
            raise LiquidError(f'{kind} "{src[i:]}" not closed')
        inner = src[i + 2 : found]
        tl = inner.startswith("-")
        tr = inner.endswith("-") and len(inner) > (1 if tl else 0)
        content = inner[1 if tl else 0 : len(inner) - (1 if tr else 0)]
        out.append(("tag" if is_tag else "output", content, tl, tr))
        p = found + 2
        if is_tag:
            name = content.strip(_BLANK).split(None, 1)[0] if content.strip(_BLANK) else ""
            if name in ("raw", "comment"):
                endname = "end" + name
                m = re.compile(r"\{%-?\s*" + endname + r"\s*-?%\}").search(src, p)
                if m is None:
                    raise LiquidError(f"tag {{% {name} %}} not closed")
                body = src[p : m.start()]
                out.append(("rawbody" if name == "raw" else "commentbody", body, False, False))
                endinner = m.group(0)[2:-2]
                out.append(("tag", endname, endinner.startswith("-"), endinner.endswith("-")))
                p = m.end()
    return out


def _apply_trims(tokens: list) -> list:
    toks = [list(t) for t in tokens]
    for idx, (kind, _content, tl, tr) in enumerate(tokens):
        if kind in ("tag", "output"):
            if tl and idx > 0 and toks[idx - 1][0] == "html":
                toks[idx - 1][1] = toks[idx - 1][1].rstrip(_BLANK)
            if tr and idx + 1 < len(toks) and toks[idx + 1][0] == "html":
                toks[idx + 1][1] = toks[idx + 1][1].lstrip(_BLANK)
    return toks


Render = Callable[[_Ctx, list], None]


def _parse_block(tokens: list, pos: int, stop: tuple[str, ...]) -> tuple[list[Render], int, str | None, str]:
    """Parse nodes until a tag in `stop`; returns (nodes, next_pos, stop_tag_name, stop_tag_args)."""
    nodes: list[Render] = []
    while pos < len(tokens):
        kind, content = tokens[pos][0], tokens[pos][1]
        pos += 1
        if kind in ("html", "rawbody"):
            text = content
            nodes.append(lambda ctx, out, text=text: out.append(text))
        elif kind == "commentbody":
            continue
        elif kind == "output":
            if content.strip(_BLANK) == "":
                continue
            value = _parse_filtered_value(content)
            nodes.append(lambda ctx, out, value=value: out.append(_stringify(value(ctx))))
        else:
            stripped = content.strip(_BLANK)
            if stripped.startswith("#"):
                continue
            m = re.match(r"([^\s]*)\s*(.*)", stripped, re.S)
            name, args = m.group(1), m.group(2)
            if name in stop:
                return nodes, pos, name, args
            node, pos = _parse_tag(name, args, tokens, pos)
            if node is not None:
                nodes.append(node)
    return nodes, pos, None, ""


def _run(nodes: list[Render], ctx: _Ctx, out: list) -> None:
    for node in nodes:
        node(ctx, out)


def _parse_tag(name: str, args: str, tokens: list, pos: int) -> tuple[Render | None, int]:
    if name in DISABLED_TAGS:
        raise LiquidError(f'tag "{name}" is disabled')
    if name in ("if", "unless"):
        branches: list[tuple[Callable[[Any], Any] | None, list[Render], bool]] = []
        cond_text = args
        negate = name == "unless"
        while True:
            tok = _Tok(cond_text)
            cond = _parse_expression(tok)
            if cond is None:
                raise LiquidError(f'invalid value expression: "{cond_text}"')
            body, pos, stop, stop_args = _parse_block(tokens, pos, ("elsif", "else", "end" + name))
            branches.append((cond, body, negate))
            negate = False
            if stop is None:
                raise LiquidError(f"tag {{% {name} %}} not closed")
            if stop == "elsif":
                cond_text = stop_args
                continue
            else_body: list[Render] = []
            if stop == "else":
                else_body, pos, stop2, _ = _parse_block(tokens, pos, ("end" + name,))
                if stop2 is None:
                    raise LiquidError(f"tag {{% {name} %}} not closed")
            break

        def run_if(ctx: _Ctx, out: list, branches=tuple(branches), else_body=else_body) -> None:
            for cond, body, neg in branches:
                truthy = not _falsy(_to_value(cond(ctx)))
                if truthy != neg:
                    _run(body, ctx, out)
                    return
            _run(else_body, ctx, out)

        return run_if, pos
    if name == "assign":
        m = re.match(r"\s*([^\s=]+)\s*=(.*)", args, re.S)
        if m is None:
            raise LiquidError('expected "="')
        key = m.group(1)
        value = _parse_filtered_value(m.group(2))

        def run_assign(ctx: _Ctx, out: list) -> None:
            ctx.scope[key] = value(ctx)

        return run_assign, pos
    if name == "capture":
        key = _Tok(args).read_identifier() or args.strip(_BLANK).strip("'\"")
        body, pos, stop, _ = _parse_block(tokens, pos, ("endcapture",))
        if stop is None:
            raise LiquidError("tag {% capture %} not closed")

        def run_capture(ctx: _Ctx, out: list) -> None:
            buf: list = []
            _run(body, ctx, buf)
            ctx.scope[key] = "".join(buf)

        return run_capture, pos
    if name == "echo":
        if args.strip(_BLANK) == "":
            return None, pos
        value = _parse_filtered_value(args)
        return (lambda ctx, out: out.append(_stringify(value(ctx)))), pos
    if name in ("raw", "comment"):
        # body already captured by the splitter; skip to the end tag
        if pos < len(tokens) and tokens[pos][0] in ("rawbody", "commentbody"):
            text = tokens[pos][1]
            pos += 2
            if name == "raw":
                return (lambda ctx, out: out.append(text)), pos
            return None, pos
        return None, pos
    if name in ("increment", "decrement"):
        var = _Tok(args).read_identifier()

        def run_counter(ctx: _Ctx, out: list) -> None:
            cur = ctx.counters.get(var, ctx.env.get(var, UNDEFINED))
            if type(cur) not in (int, float) or type(cur) is bool:
                cur = 0
            if name == "increment":
                out.append(number_to_string(cur))
                ctx.counters[var] = cur + 1
            else:
                ctx.counters[var] = cur - 1
                out.append(number_to_string(cur - 1))

        return run_counter, pos
    raise LiquidError(f'tag "{name}" is not supported')


def compile_liquid(source: str) -> Callable[[Any], str]:
    """Parse a liquid template once; returns `render(payload) -> str`."""
    tokens = _apply_trims(_split_top_level(source))
    nodes, pos, stop, _ = _parse_block(tokens, 0, ())
    if stop is not None:
        raise LiquidError(f'unexpected tag "{stop}"')

    def render(payload: Any) -> str:
        ctx = _Ctx(payload)
        out: list = []
        _run(nodes, ctx, out)
        return "".join(out)

    return render

