"""Unit tests per directive and per upstream quirk (values checked against mapping-kit 3.170.0)."""

from __future__ import annotations

import pytest

from amprelay.js import UNDEFINED
from amprelay.mapping import MappingRuntimeError, compile_mapping
from amprelay.mapping.compiler import build, prepare_mapping

EVENT = {
    "type": "track",
    "event": "Order Completed",
    "userId": "user-1",
    "anonymousId": "anon-1",
    "zero": 0,
    "f": False,
    "empty": "",
    "emptyArr": [],
    "str": "Hello World",
    "num": 1.5,
    "obj": {"a": 1, "b": None, "c": {"d": None}},
    "integrations": {"Actions Amplitude": {"session_id": 123}},
    "context": {"device": {"id": None}},
    "properties": {"products": [{"id": "p1", "price": 3}, {"id": "p2"}], "single": {"id": "s"}},
    "traits": {"name": "Ann", "email": "A@B.COM"},
}


def ev(mapping, event=EVENT):
    """Evaluate with both engines (generated root and closure tree); they must agree."""
    fast = compile_mapping(mapping).evaluate(event)
    slow = build(prepare_mapping(mapping), fast=False).evaluate(event)
    assert fast == slow
    return fast


def r(directive, event=EVENT):
    return ev({"r": directive}, event).get("r", "<absent>")


# -- @path


@pytest.mark.parametrize(
    "path,expected",
    [
        ("$.userId", "user-1"),
        ("userId", "user-1"),
        ("$.integrations.Actions Amplitude.session_id", 123),
        ("$.properties.products[0].id", "p1"),
        ("$.properties.products.1.id", "p2"),
        ("$.properties['single'].id", "s"),
        ("$.zero.x.y", 0),  # the first falsy value is returned
        ("$.f.x", False),
        ("$.empty.x", ""),
        ("$.str.length", 11),
        ("$.str.0", "H"),
        ("$.emptyArr.length", 0),
        ("$.nope", "<absent>"),
        ("$.context.device.id", None),
    ],
)
def test_path(path, expected):
    assert r({"@path": path}) == expected


def test_path_root_and_copy():
    out = ev({"all": {"@path": "$."}, "props": {"@path": "$.properties"}})
    assert out["all"] == EVENT and out["all"] is not EVENT
    assert out["props"]["products"] is not EVENT["properties"]["products"]


def test_path_dotted_quoted_key_not_supported():
    event = {"d": {"a.b": 1, "a": {"b": 2}}}
    assert r({"@path": "$.d['a.b']"}, event) == 2


def test_results_do_not_alias_the_event_or_each_other():
    event = {"properties": {"products": [{"price": "1"}]}}
    out = ev({"a": {"@path": "$.properties"}, "b": {"@path": "$.properties.products"}}, event)
    out["b"][0]["price"] = 1.0
    assert out["a"]["products"][0]["price"] == "1"
    assert event["properties"]["products"][0]["price"] == "1"


# -- @template


def test_template_values():
    event = {"n": None, "o": {"a": 1}, "a": [1, None, [2, 3]], "x": 1.0, "b": True, "big": 1e21, "s": 1e-7}
    assert r({"@template": "{{n}}|{{missing}}|{{o}}|{{a}}|{{x}}|{{b}}|{{big}}|{{s}}"}, event) == (
        "||[object Object]|1,,2,3|1|true|1e+21|1e-7"
    )


def test_template_triple_same_as_double_and_two_passes():
    assert r({"@template": "{{{userId}}}/{{ userId }}"}) == "user-1/user-1"
    # the double-brace pass runs over the output of the triple-brace pass
    assert r({"@template": "{{{t}}}"}, {"t": "{{u}}", "u": "X"}) == "X"


def test_template_no_root_stripping():
    assert r({"@template": "{{$.userId}}"}) == ""


def test_template_from_directive_must_be_string():
    with pytest.raises(MappingRuntimeError, match="@template: expected string, got number"):
        ev({"r": {"@template": {"@path": "$.zero"}}})


# -- @literal, @if


def test_literal_resolves_nested_directives():
    assert r({"@literal": {"a": {"@path": "$.userId"}, "b": {"@path": "$.nope"}}}) == {"a": "user-1"}


@pytest.mark.parametrize(
    "cond,expected",
    [("$.userId", "yes"), ("$.context.device.id", "no"), ("$.nope", "no"), ("$.zero", "yes")],
)
def test_if_exists(cond, expected):
    assert r({"@if": {"exists": {"@path": cond}, "then": "yes", "else": "no"}}) == expected


@pytest.mark.parametrize(
    "field,blank",
    [("zero", True), ("f", True), ("empty", True), ("emptyArr", True), ("str", False), ("num", False),
     ("obj", False), ("nope", True)],
)
def test_if_blank_uses_loose_equality(field, blank):
    out = r({"@if": {"blank": {"@path": f"$.{field}"}, "then": "filled", "else": "blank"}})
    assert out == ("blank" if blank else "filled")


def test_if_falsy_else_is_ignored_then_is_used_when_defined():
    assert r({"@if": {"exists": {"@path": "$.nope"}, "then": 1, "else": ""}}) == "<absent>"
    assert r({"@if": {"exists": {"@path": "$.nope"}, "then": 1, "else": 0}}) == "<absent>"
    assert r({"@if": {"exists": {"@path": "$.userId"}, "then": "", "else": "x"}}) == ""
    assert r({"@if": {"exists": {"@path": "$.userId"}, "then": None}}) is None


def test_if_requires_exists_or_blank():
    with pytest.raises(MappingRuntimeError, match='@if requires an "exists" key or a "blank" key'):
        ev({"r": {"@if": {"then": 1}}})


# -- @case, @replace


def test_case():
    assert r({"@case": {"operator": "upper", "value": {"@path": "$.str"}}}) == "HELLO WORLD"
    assert r({"@case": {"operator": "lower", "value": {"@path": "$.traits.email"}}}) == "a@b.com"
    assert r({"@case": {"operator": "lower", "value": {"@path": "$.num"}}}) == 1.5
    with pytest.raises(MappingRuntimeError, match='operator key should have a value of "lower" or "upper"'):
        ev({"r": {"@case": {"operator": "title", "value": "x"}}})


def test_replace():
    base = {"pattern": "o", "replacement": "0", "value": {"@path": "$.str"}}
    assert r({"@replace": base}) == "Hell0 W0rld"
    assert r({"@replace": {**base, "global": False}}) == "Hell0 World"
    assert r({"@replace": {**base, "pattern2": "l", "replacement2": "L"}}) == "HeLL0 W0rLd"
    assert r({"@replace": {"pattern": "hello", "replacement": "Bye", "ignorecase": True,
                           "value": {"@path": "$.str"}}}) == "Bye World"
    assert r({"@replace": {"pattern": ".", "replacement": "$&!", "value": "a.b"}}) == "a.!b"
    assert r({"@replace": {"pattern": "5", "replacement": "x", "value": {"@path": "$.num"}}}) == "1.x"
    assert r({"@replace": {"pattern": "x", "value": {"@path": "$.nope"}}}) == ""
    assert r({"@replace": {"pattern": "x", "value": ""}}) == "<absent>"


def test_replace_pattern2_too_long_is_runtime_error():
    with pytest.raises(MappingRuntimeError, match="less than 10 characters"):
        ev({"r": {"@replace": {"pattern": "o", "pattern2": "0123456789ab", "value": "foo"}}})


# -- @arrayPath


def test_array_path():
    shape = {"pid": {"@path": "$.id"}, "p": {"@path": "price"}, "c": "const"}
    assert r({"@arrayPath": ["$.properties.products", shape]}) == [
        {"pid": "p1", "p": 3, "c": "const"}, {"pid": "p2", "c": "const"}]
    assert r({"@arrayPath": ["$.properties.single", {"i": {"@path": "id"}}]}) == [{"i": "s"}]
    assert r({"@arrayPath": ["$.str", {"i": {"@path": "id"}}]}) == "Hello World"
    assert r({"@arrayPath": ["$.properties.products"]}) == EVENT["properties"]["products"]
    assert r({"@arrayPath": ["$.nope", {"i": {"@path": "id"}}]}) == "<absent>"


# -- @json, @flatten, @merge


def test_json():
    assert r({"@json": {"mode": "encode", "value": {"@path": "$.obj"}}}) == '{"a":1,"b":null,"c":{"d":null}}'
    assert r({"@json": {"mode": "encode", "value": {"@literal": {"b": 1, "2": 1.0, "1": [1e21]}}}}) == (
        '{"1":[1e+21],"2":1,"b":1}')
    assert r({"@json": {"mode": "encode", "value": {"@path": "$.nope"}}}) == "<absent>"
    assert r({"@json": {"mode": "decode", "value": '{"a":[1,2]}'}}) == {"a": [1, 2]}
    assert r({"@json": {"mode": "decode", "value": "{nope"}}) == "{nope"
    assert r({"@json": {"mode": "decode", "value": "NaN"}}) == "NaN"
    with pytest.raises(MappingRuntimeError, match='@json requires a "value" key'):
        ev({"r": {"@json": {"mode": "encode", "value": 0}}})


def test_flatten():
    assert r({"@flatten": {"separator": ".", "value": {"@literal": {"a": {"b": 1, "c": [1, 2]}}}}}) == {
        "a.b": 1, "a.c.0": 1, "a.c.1": 2}
    assert r({"@flatten": {"separator": "_", "omitArrays": True,
                           "value": {"@literal": {"a": {"b": 1, "c": [1, 2]}}}}}) == {"a_b": 1, "a_c": [1, 2]}
    assert r({"@flatten": {"separator": ".", "value": "x"}}) == {"": "x"}
    with pytest.raises(MappingRuntimeError, match='@flatten requires a "separator" key'):
        ev({"r": {"@flatten": {"value": {}}}})


def test_merge():
    objs = [{"@path": "$.traits"}, {"name": "Bob"}]
    assert r({"@merge": {"direction": "right", "objects": objs}}) == {"name": "Bob", "email": "A@B.COM"}
    assert r({"@merge": {"direction": "left", "objects": objs}}) == {"name": "Ann", "email": "A@B.COM"}
    assert r({"@merge": {"direction": "right", "objects": [{"@literal": "E"}]}}) == {"0": "E"}
    # a later undefined value overrides and then disappears
    assert r({"@merge": {"direction": "right", "objects": [{"a": 1}, {"a": {"@path": "$.nope"}}]}}) == {}
    with pytest.raises(MappingRuntimeError, match='@merge requires a "direction" key'):
        ev({"r": {"@merge": {"objects": [{}]}}})


# -- @transform, @excludeWhenNull


def test_transform():
    mapping = {"@transform": {"apply": {"t": {"@path": "$.traits.name"}},
                              "mapping": {"out": {"@path": "$.t"}, "both": {"@template": "<{{t}}>"}}}}
    assert r(mapping) == {"out": "Ann", "both": "<Ann>"}


def test_exclude_when_null():
    assert r({"@excludeWhenNull": {"@path": "$.obj"}}) == {"a": 1, "c": {}}
    assert r({"@excludeWhenNull": {"@path": "$.context.device.id"}}) == "<absent>"


# -- @liquid


def test_liquid():
    assert r({"@liquid": "{{ event | upcase }}-{{ integrations['Actions Amplitude'].session_id | plus: 1 }}"}) == (
        "ORDER COMPLETED-124")
    assert r({"@liquid": "{% if traits.name %}Hi {{ traits.name }}{% else %}anon{% endif %}"}) == "Hi Ann"
    with pytest.raises(MappingRuntimeError):
        ev({"r": {"@liquid": "{% for p in properties.products %}{{ p.id }}{% endfor %}"}})


# -- undefined handling, root


def test_undefined_removed_from_objects_kept_in_arrays():
    out = ev({"a": {"b": {"@path": "$.nope"}}, "c": [{"@path": "$.nope"}, 1], "d": {}})
    assert out == {"a": {}, "c": [UNDEFINED, 1], "d": {}}


def test_root_internal_directive():
    # the other root keys become the root directive's "mapping" (used by @transform, ignored by @merge)
    out = ev({"__segment_internal_directive": {"@transform": {"apply": {"t": {"@path": "$.traits.name"}}}},
              "k": {"@path": "$.t"}})
    assert out == {"k": "Ann"}
    out = ev({"__segment_internal_directive": {"@merge": {"direction": "right", "objects": [{"@path": "$.traits"}]}},
              "k": {"@path": "$.userId"}})
    assert out == {"name": "Ann", "email": "A@B.COM"}


def test_evaluate_requires_object():
    with pytest.raises(MappingRuntimeError, match="data must be an object, got array"):
        compile_mapping({"a": 1}).evaluate([1])


def test_unknown_directive_in_unvalidated_array_fails_at_runtime():
    compiled = compile_mapping({"a": [{"@nope": 1}]})
    with pytest.raises(MappingRuntimeError, match="@nope is not a valid directive"):
        compiled.evaluate({})


def test_constants_are_fresh_per_evaluation():
    compiled = compile_mapping({"a": {"@literal": {"x": [1]}}, "b": {"k": "v"}})
    first = compiled.evaluate({})
    first["a"]["x"].append(2)
    first["b"]["k"] = "changed"
    assert compiled.evaluate({}) == {"a": {"x": [1]}, "b": {"k": "v"}}


def test_liquid_numbers_follow_javascript():
    """`round` is Math.round (0.49999999999999994 rounds down; floor(x + 0.5) did not), and a
    string is read by Number(): Arabic-Indic digits are not a number in JS."""
    from amprelay.mapping.liquid import compile_liquid

    assert compile_liquid("{{ 0.49999999999999994 | round }} {{ 2.5 | round }} {{ -2.5 | round }}")({}) == "0 3 -3"
    assert compile_liquid('{{ "١٢" | plus: 1 }} {{ " 12 " | plus: 1 }} {{ "0x10" | plus: 0 }}')({}) == "1 13 16"
