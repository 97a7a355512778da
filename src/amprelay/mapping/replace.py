"""The @replace directive: `String.prototype.replace` with a literal pattern, JS replacement
patterns (`$&`, `$1`...) and the `ignorecase`/`global` options."""

from __future__ import annotations

from typing import Any

from amprelay.js import (
    UNDEFINED,
    number_to_string,
    truthy,
    utf16_len,
    utf16_units,
)

from .errors import MappingRuntimeError
from .nodes import Const, Node, as_fn, pure, raiser
from .resolve import compile_node
from .validate import MAX_PATTERN_LENGTH, MAX_REPLACEMENT_LENGTH

__all__ = ["c_replace"]


# -- @replace


def _js_canon(ch: str) -> str:
    """Canonicalize (non-unicode ignoreCase) of one UTF-16 unit."""
    if ch > "\uffff":
        return ch
    u = ch.upper()
    if len(u) != 1:
        return ch
    if ord(ch) >= 128 and ord(u) < 128:
        return ch
    return u


def _expand_replacement(replacement: str, subject: str, start: int, end: int) -> str:
    """JS GetSubstitution for a regex without capture groups."""
    if "$" not in replacement:
        return replacement
    out = []
    i = 0
    n = len(replacement)
    while i < n:
        c = replacement[i]
        if c == "$" and i + 1 < n:
            nxt = replacement[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "&":
                out.append(subject[start:end])
                i += 2
                continue
            if nxt == "`":
                out.append(subject[:start])
                i += 2
                continue
            if nxt == "'":
                out.append(subject[end:])
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _perform_replace(value: str, pattern: str, replacement: str, is_global: bool, ignorecase: bool) -> str:
    if utf16_len(pattern) > MAX_PATTERN_LENGTH:
        raise MappingRuntimeError(f'@replace requires a "pattern" less than {MAX_PATTERN_LENGTH} characters')
    if utf16_len(replacement) > MAX_REPLACEMENT_LENGTH:
        raise MappingRuntimeError(
            f'@replace requires a "replacement" less than {MAX_REPLACEMENT_LENGTH} characters'
        )
    astral = not value.isascii() and (max(value) > "\uffff" or max(pattern) > "\uffff")
    if astral:
        # work in UTF-16 code units, like JS
        v_units = utf16_units(value)
        p_units = utf16_units(pattern)
        subject = "".join(v_units)
        pat = "".join(p_units)
    else:
        subject, pat = value, pattern
    if ignorecase:
        hay = "".join(_js_canon(c) for c in subject)
        needle = "".join(_js_canon(c) for c in pat)
    else:
        hay, needle = subject, pat
    out = []
    pos = 0
    search_from = 0
    plen = len(needle)
    while True:
        idx = hay.find(needle, search_from)
        if idx < 0:
            break
        out.append(subject[pos:idx])
        out.append(_expand_replacement(replacement, subject, idx, idx + plen))
        pos = idx + plen
        search_from = pos
        if not is_global:
            break
    out.append(subject[pos:])
    result = "".join(out)
    if astral:
        result = result.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return result


def c_replace(opts: Any, final: bool) -> Node:
    if type(opts) is not dict:
        return raiser('@replace requires an object with a "pattern" key')
    if not truthy(opts.get("pattern", UNDEFINED)):
        return raiser('@replace requires a "pattern" key')
    pattern = opts["pattern"]
    replacement = opts.get("replacement", UNDEFINED)
    if replacement is None or replacement is UNDEFINED:
        replacement = ""
    pattern2 = opts.get("pattern2", UNDEFINED)
    replacement2 = opts.get("replacement2", UNDEFINED)
    if truthy(pattern2) and (replacement2 is None or replacement2 is UNDEFINED):
        replacement2 = ""
    ignorecase = opts.get("ignorecase", UNDEFINED)
    if ignorecase is None or ignorecase is UNDEFINED:
        ignorecase = False
    is_global = opts.get("global", UNDEFINED)
    if is_global is None or is_global is UNDEFINED:
        is_global = True
    value_raw = opts.get("value", UNDEFINED)
    if not truthy(value_raw):
        return Const(UNDEFINED)
    types_ok = (
        type(pattern) is str
        and type(replacement) is str
        and type(ignorecase) is bool
        and type(is_global) is bool
    )
    second = truthy(pattern2) and type(pattern2) is str and type(replacement2) is str
    node = compile_node(value_raw, False)
    value_fn = as_fn(node, False)

    def run_replace(payload: Any) -> Any:
        v = value_fn(payload)
        t = type(v)
        if t is bool:
            v = "true" if v else "false"
        elif t is int or t is float:
            v = number_to_string(v)
        elif t is not str:
            return ""
        if not types_ok:
            return ""
        new_value = _perform_replace(v, pattern, replacement, is_global, ignorecase)
        if second:
            new_value = _perform_replace(new_value, pattern2, replacement2, is_global, ignorecase)
        return new_value

    return pure(run_replace, [node], final)
