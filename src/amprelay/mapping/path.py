"""mapping-kit `get(obj, path)`: the path syntax of @path, @arrayPath and @template."""

from __future__ import annotations

import re
from typing import Any

from .jsvalues import UNDEFINED, is_array_index, js_truthy, utf16_len, utf16_units

__all__ = ["parse_path", "get_path", "strip_root", "js_index"]

# `\[(?="|'|\d)|\.|(?<="|'|\d)]+` (JS \d is ASCII only)
_SPLIT_RE = re.compile(r"""\[(?=["'0-9])|\.|(?<=["'0-9])\]+""")
_QUOTES_RE = re.compile(r"""['"]""")


def strip_root(path: str) -> str:
    """`path.replace('$.', '')`: removes the FIRST occurrence of "$." anywhere."""
    return path.replace("$.", "", 1)


def parse_path(path: str) -> tuple[str, ...]:
    """Split a path into keys the way `get` does. An empty tuple means the object itself."""
    if path == "" or path == ".":
        return ()
    return tuple(_QUOTES_RE.sub("", part) for part in _SPLIT_RE.split(path) if part)


def js_index(obj: Any, key: str) -> Any:
    """`obj[key]` for a truthy non-dict JS value (own data properties only)."""
    t = type(obj)
    if t is list:
        if key == "length":
            return len(obj)
        if is_array_index(key):
            i = int(key)
            if i < len(obj):
                return obj[i]
        return UNDEFINED
    if t is str:
        if key == "length":
            return utf16_len(obj)
        if is_array_index(key):
            i = int(key)
            if obj.isascii():
                return obj[i] if i < len(obj) else UNDEFINED
            units = utf16_units(obj)
            return units[i] if i < len(units) else UNDEFINED
        return UNDEFINED
    if t is dict:
        return obj.get(key, UNDEFINED)
    return UNDEFINED


def get_path(obj: Any, keys: tuple[str, ...]) -> Any:
    """`keys.reduce((prev, key) => prev && prev[key], obj)`: stops at the first falsy value and
    returns it (so a path through `0`, `""`, `false` or `null` yields that value)."""
    for k in keys:
        if type(obj) is dict:
            obj = obj.get(k, UNDEFINED)
        elif not js_truthy(obj):
            return obj
        else:
            obj = js_index(obj, k)
    return obj
