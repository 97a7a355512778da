"""``JSON.parse`` as Node reads a request body (numbers as doubles, keys in JS order). The reading
lives in :mod:`amprelay.js.json`; ``js_json_loads`` is the name the destination, the CLI and the
console use for it."""

from __future__ import annotations

from amprelay.js.json import (  # noqa: F401 - re-exported
    _INDEX_KEY,
    _SHAPE,
    _needs_js_walk,
    parse,
)

js_json_loads = parse
