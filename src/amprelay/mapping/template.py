"""mapping-kit placeholders `render(template, data)` (the @template directive).

Two global passes, like upstream: first `{{{x}}}`, then `{{x}}` over the output of the first pass.
Each placeholder is `get(data, inner.trim())` rendered as `String(value ?? '')`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from amprelay.js import UNDEFINED, to_string, trim

from .path import get_path, parse_path

__all__ = ["compile_template", "render_template", "placeholder_string"]

_TRIPLE_RE = re.compile(r"\{\{\{([^}]+)\}\}\}")
_DOUBLE_RE = re.compile(r"\{\{([^}]+)\}\}")


def placeholder_string(value: Any) -> str:
    """`String(value ?? '')`."""
    if type(value) is str:
        return value
    if value is None or value is UNDEFINED:
        return ""
    return to_string(value)


def _sub(regex: re.Pattern[str], text: str, data: Any) -> str:
    def repl(m: re.Match[str]) -> str:
        return placeholder_string(get_path(data, parse_path(trim(m.group(1)))))

    return regex.sub(repl, text)


def render_template(template: str, data: Any) -> str:
    """Render a template string against data (uncompiled path)."""
    return _sub(_DOUBLE_RE, _sub(_TRIPLE_RE, template, data), data)


def compile_template(template: str) -> Callable[[Any], str]:
    """Pre-parse a constant template into a render function."""
    if _TRIPLE_RE.search(template):
        # the second pass scans text produced by the first: keep upstream's two dynamic passes
        return lambda data: render_template(template, data)
    parts: list[Any] = []  # str literals and key tuples, alternating
    pos = 0
    for m in _DOUBLE_RE.finditer(template):
        parts.append(template[pos : m.start()])
        parts.append(parse_path(trim(m.group(1))))
        pos = m.end()
    tail = template[pos:]
    if not parts:
        return lambda data: template
    if len(parts) == 2 and tail == "" and parts[0] == "":
        keys = parts[1]
        return lambda data: placeholder_string(get_path(data, keys))
    literal_positions = tuple(range(0, len(parts), 2))
    key_positions = tuple((i, parts[i]) for i in range(1, len(parts), 2))

    def render(data: Any) -> str:
        out = list(parts)
        for i, keys in key_positions:
            out[i] = placeholder_string(get_path(data, keys))
        return "".join(out) + tail

    del literal_positions
    return render
