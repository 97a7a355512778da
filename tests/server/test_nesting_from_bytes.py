"""``nests_within`` (the depth limit read from a body's bytes) agrees with the walk of the parsed
value (``depth_exceeds``) for every JSON text, brackets, quotes and backslashes in strings and
keys included, whatever the whitespace and escaping of the text."""

import json

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from amprelay.js.json import depth_exceeds, dumps, nests_within
from amprelay.server.ingest import parse_request

_TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\:,ab \n\u00e9\ud800'), max_size=8)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | _TRICKY,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TRICKY, children, max_size=4),
    max_leaves=30)


def _texts(value):
    yield dumps(value)
    yield json.dumps(value, ensure_ascii=True).encode()
    yield json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8", "surrogatepass")


@settings(max_examples=400, deadline=None)
@given(json_values, st.integers(0, 8))
@example(["]", [[[]]], "["], 3)  # brackets in strings that would balance the real ones
@example({"a": '\\"[['}, 1)  # an escaped backslash before a quote, then brackets
@example([["x", "[]"], ["]["]], 2)
@example(["[", "]", ""], 1)  # strings side by side (commas dropped): their quotes meet as ""
@example({"[": "]]", "": "["}, 1)
def test_nests_within_agrees_with_the_walk(value, limit):
    for text in _texts(value):
        assert nests_within(text, limit) == (not depth_exceeds(value, limit)), text


def test_deep_bodies_and_text_that_does_not_balance():
    assert nests_within(b"[" * 64 + b"]" * 64, 64)
    assert not nests_within(b"[" * 65 + b"]" * 65, 64)
    assert not nests_within(b'{"a":[}', 5)  # not JSON that parses: never "within"


def test_a_batch_of_shallow_items_is_marked_shallow_and_a_deep_one_is_not():
    items = [{"type": "track", "event": "[x]", "userId": "u", "properties": {"a": [[1]]}}]
    parsed = parse_request("batch", orjson.dumps({"batch": items}), None, 32768, 5)
    assert parsed.shallow  # item depth 4 (item, properties, a, [1]) + the request's 2 levels
    parsed = parse_request("batch", orjson.dumps({"batch": items}), None, 32768, 3)
    assert not parsed.shallow
