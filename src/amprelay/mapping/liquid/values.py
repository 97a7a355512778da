"""Liquid values: the literals (nil, empty, blank), truthiness, comparison and property reads."""

from __future__ import annotations

import math
import re
from typing import Any

from amprelay.errors import AmprelayError
from amprelay.js import (
    UNDEFINED,
    normalize_number,
    number_to_string,
    string_to_number,
    to_string,
    utf16_len,
)


class LiquidError(AmprelayError):
    pass


DISABLED_TAGS = {"case", "for", "include", "layout", "render", "tablerow"}
DISABLED_FILTERS = {
    "array_to_sentence_string", "concat", "find", "find_exp", "find_index", "find_index_exp",
    "group_by", "group_by_exp", "has", "has_exp", "map", "newline_to_br", "reject", "reject_exp",
    "reverse", "sort", "sort_natural", "uniq", "where_exp", "type",
}

BLANK_CHARS = "\t\n\x0b\x0c\r \u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_WORD_ASCII = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-?")
_NONWORD_HIGH = set(BLANK_CHARS[5:]) | {"\u201c", "\u201d"}


def is_word(ch: str) -> bool:
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
LITERALS = {"true": True, "false": False, "nil": NIL, "null": NIL, "empty": EMPTY, "blank": BLANK}
OPERATORS = ["==", "!=", ">=", "<=", ">", "<", "contains", "not", "and", "or"]
PRECEDENCE = {"==": 2, "!=": 2, ">": 2, "<": 2, ">=": 2, "<=": 2, "contains": 2, "not": 1, "and": 0, "or": 0}


# ---------------------------------------------------------------- value helpers


def to_value(v: Any) -> Any:
    if isinstance(v, _Empty):
        return ""
    if v is NIL:
        return None
    return v


def stringify(v: Any) -> str:
    v = to_value(v)
    t = type(v)
    if t is str:
        return v
    if v is None or v is UNDEFINED:
        return ""
    if t is list:
        return "".join(stringify(x) for x in v)
    if t is bool:
        return "true" if v else "false"
    if t is int or t is float:
        return number_to_string(v)
    if t is range:
        return "".join(str(i) for i in v)
    return "[object Object]"


def js_to_number(v: Any) -> float | int:
    v = to_value(v)
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
            return js_to_number(_stringify_js(v[0]))
        return math.nan
    if t is str:
        return normalize_number(string_to_number(v))
    return math.nan


def _stringify_js(v: Any) -> Any:
    if v is None or v is UNDEFINED:
        return ""
    return v


def to_number(v: Any) -> float | int:
    """`+toValue(v) || 0`."""
    n = js_to_number(v)
    if n != n or n == 0:
        return 0
    return n


def num(x: float | int) -> float | int:
    if type(x) is float and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def falsy(v: Any) -> bool:
    return v is False or v is None or v is UNDEFINED


def equals(lhs: Any, rhs: Any) -> bool:
    if lhs is NIL:
        return NIL.equals(to_value(rhs))
    if rhs is NIL:
        return NIL.equals(to_value(lhs))
    if isinstance(lhs, _Empty):
        return lhs.equals(rhs)
    if isinstance(rhs, _Empty):
        return rhs.equals(lhs)
    if type(lhs) is list:
        return type(rhs) is list and len(lhs) == len(rhs) and all(equals(a, b) for a, b in zip(lhs, rhs, strict=True))
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


def compare(op: str, lhs: Any, rhs: Any) -> bool:
    if isinstance(lhs, (_Empty, _Null)) or isinstance(rhs, (_Empty, _Null)):
        return False
    a, b = _to_primitive(lhs), _to_primitive(rhs)
    ka: Any
    kb: Any
    if type(a) is str and type(b) is str:
        ka, kb = a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
    else:
        ka, kb = js_to_number(a), js_to_number(b)
        if ka != ka or kb != kb:
            return False
    if op == ">":
        return ka > kb
    if op == "<":
        return ka < kb
    if op == ">=":
        return ka >= kb
    return ka <= kb


def contains(lhs: Any, rhs: Any) -> bool:
    lhs = to_value(lhs)
    if type(lhs) is list:
        return any(equals(i, rhs) for i in lhs)
    if type(lhs) is str:
        r = to_value(rhs)
        return to_string(r) in lhs
    return False


def read_property(obj: Any, key: Any) -> Any:
    key = to_value(key)
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
        skey = stringify(key)
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
