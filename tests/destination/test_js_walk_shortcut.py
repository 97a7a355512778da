"""The digit-run shortcut in ``_needs_js_walk`` decides exactly as the orjson strict-integer check
it skips (no 16-digit run means every integer is below 10**15)."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from amprelay.destination.js import _INDEX_KEY, _SHAPE, _needs_js_walk, js_json_loads

_json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.integers(min_value=-(2**54), max_value=2**54)
    | st.integers(min_value=10**14, max_value=10**16)
    | st.text(alphabet="0123456789 ab-", max_size=40),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(alphabet="0123456789ab", max_size=18), children, max_size=5),
    max_leaves=30)


def _needs_js_walk_reference(raw: bytes, value) -> bool:
    shape = raw.translate(_SHAPE, b" \t\n\r")
    if b'0":' in shape and _INDEX_KEY.search(shape):
        return True
    try:
        orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return True
    return False


@given(_json_values, st.booleans())
def test_needs_js_walk_matches_reference(value, indent):
    raw = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    parsed = orjson.loads(raw)
    assert _needs_js_walk(raw, parsed) == _needs_js_walk_reference(raw, parsed)


def test_boundaries():
    for n in (2**53 - 1, 2**53, 2**53 + 1, -(2**53) + 1, -(2**53), -(2**53) - 1, 10**15 - 1, 10**15):
        raw = orjson.dumps({"a": n})
        assert _needs_js_walk(raw, orjson.loads(raw)) == _needs_js_walk_reference(raw, orjson.loads(raw)), n
    assert js_json_loads(b'{"a":9007199254740993}') == {"a": 9007199254740992.0}
