import pytest
from hypothesis import given
from hypothesis import strategies as st

from amprelay.spec import InvalidMessage, check_message, validate_message


@pytest.mark.parametrize("msg", [
    {"type": "track", "event": "Signed Up", "userId": "u1"},
    {"type": "page", "anonymousId": "a1", "name": "Home"},
    {"type": "screen", "userId": 42},
    {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
    {"type": "group", "userId": "u1", "groupId": "g1"},
    {"type": "alias", "userId": "u1", "previousId": "a1"},
    {"type": "track", "event": "x", "userId": "u1", "unknownKey": {"kept": True},
     "timestamp": "2024-01-01T00:00:00.000Z", "sentAt": "2024-01-01T00:00:01+01:00"},
])
def test_valid_messages(msg):
    assert validate_message(msg) == []
    assert check_message(msg) is msg


@pytest.mark.parametrize(("msg", "fragment"), [
    ({"event": "x", "userId": "u"}, "'type' is missing"),
    ({"type": "click", "userId": "u"}, "not a message type"),
    ({"type": "track", "userId": "u"}, "needs 'event'"),
    ({"type": "track", "event": "", "userId": "u"}, "non-empty 'event'"),
    ({"type": "alias", "userId": "u"}, "previousId"),
    ({"type": "group", "userId": "u"}, "groupId"),
    ({"type": "page"}, "'userId' or an 'anonymousId'"),
    ({"type": "page", "userId": ""}, "'userId' or an 'anonymousId'"),
    ({"type": "track", "event": 5, "userId": "u"}, "'event' must be a string"),
    ({"type": "track", "event": "x", "userId": "u", "properties": []}, "'properties' must be an object"),
    ("just a string", "must be a JSON object"),
])
def test_each_problem_is_named(msg, fragment):
    problems = validate_message(msg)
    assert any(fragment in p for p in problems), problems
    with pytest.raises(InvalidMessage) as info:
        check_message(msg)
    assert fragment in str(info.value)


def test_all_problems_are_reported_at_once():
    problems = validate_message({"type": "track", "properties": 1, "context": "x"})
    assert len(problems) >= 4


json = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
                    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=3)),
                    max_leaves=10)


@given(st.one_of(json, st.dictionaries(st.sampled_from(["type", "event", "userId", "anonymousId", "previousId",
                                                        "groupId", "timestamp", "properties", "context"]),
                                       json, max_size=8)))
def test_random_input_never_crashes(value):
    assert isinstance(validate_message(value), list)


@pytest.mark.parametrize("ts", ["2024-03-15T16:23:05.123456", "2024-03-15T16:23:05.123456+00:00",
                                "2024-03-15T16:23:05.123456789Z", "2024-03-15T16:23:05.000+09:00",
                                "2024-03-15T16:23:05.123+0000", 1710520985, 1710520985123, "1710520985",
                                "1710520985123", "yesterday", 1710520985.5])
def test_any_timestamp_is_taken(ts):
    for key in ("timestamp", "sentAt", "originalTimestamp"):
        assert validate_message({"type": "track", "event": "x", "userId": "u", key: ts}) == []
