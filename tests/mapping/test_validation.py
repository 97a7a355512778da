"""One test per class of invalid mapping: the error names the JSON path, in validate.ts wording."""

from __future__ import annotations

import pytest

from amprelay.mapping import MappingValidationError, compile_mapping, validate_mapping

CASES = [
    ({"user_id": {"@template": 5}}, "/user_id/@template",
     "/user_id/@template should be a string or a mapping directive but it is a number."),
    ({"a": {"@path": "$.x", "@template": "y"}}, "/a", "/a should only have one @-prefixed key but it has 2 keys."),
    ({"a": {"@path": "$.x", "other": 1}}, "/a", "/a should only have one @-prefixed key but it has 2 keys."),
    ({"a": {"@nope": 1}}, "/a", "/a has an invalid directive: @nope."),
    ({"a": {"@if": "x"}}, "/a/@if", "/a/@if should be an object but it is a string."),
    ({"a": {"@if": {"@path": "$.x"}}}, "/a/@if", "/a/@if should be an object but it is a directive."),
    ({"a": {"@if": {"exists": {"@path": 1}}}}, "/a/@if/exists/@path",
     "/a/@if/exists/@path should be a string or a mapping directive but it is a number."),
    ({"a": {"@replace": {"value": "x"}}}, "/a/@replace",
     '/a/@replace should have field "pattern" but it doesn\'t.'),
    ({"a": {"@replace": {"pattern": "0123456789ab", "value": "x"}}}, "/a/@replace/pattern",
     "/a/@replace/pattern should be a string of length 10 or less."),
    ({"a": {"@replace": {"pattern": "", "value": "x"}}}, "/a/@replace/pattern",
     "/a/@replace/pattern should be a string of length 1 or greater."),
    ({"a": {"@replace": {"pattern": "a", "value": "x", "global": "yes"}}}, "/a/@replace/global",
     "/a/@replace/global should be a boolean but it is a string."),
    ({"a": {"@replace": {"pattern": "a", "value": None}}}, "/a/@replace/value",
     "/a/@replace/value should be a string or a mapping directive but it is a null."),
    ({"a": {"@json": {"mode": "nope", "value": "x"}}}, "/a/@json/mode",
     '/a/@json/mode should be one of encode, decode but it is "nope".'),
    ({"a": {"@merge": {"objects": [1], "direction": "right"}}}, "/",
     "/ should be a object or a mapping directive but it is a number."),
    ({"a": {"@merge": {"objects": [], "direction": "up"}}}, "/a/@merge/direction",
     '/a/@merge/direction should be one of left, right but it is "up".'),
    ({"a": {"@transform": {"apply": 1, "mapping": {}}}}, "/a/@transform/apply",
     "/a/@transform/apply should be a object or a mapping directive but it is a number."),
    ({"a": {"@arrayPath": "x"}}, "/a/@arrayPath", "/a/@arrayPath should be an array but it is a string."),
    ({"a": {"@arrayPath": [5]}}, "/a/@arrayPath",
     "/a/@arrayPath should be a string or a mapping directive but it is a number."),
    ({"a": {"@liquid": 5}}, "/a/@liquid", "/a/@liquid should be a string but it is a number."),
    ({"a": {"@flatten": {"separator": 1, "value": {}}}}, "/a/@flatten/separator",
     "/a/@flatten/separator should be a string but it is a number."),
    ({"a": {"@case": {"operator": "upper", "value": 3}}}, "/a/@case/value",
     "/a/@case/value should be a string or a mapping directive but it is a number."),
    ({"a": {"b": {"@path": None}}}, "/a/b/@path",
     "/a/b/@path should be a string or a mapping directive but it is a null."),
]


@pytest.mark.parametrize("mapping,path,message", CASES)
def test_invalid_mapping_names_the_path(mapping, path, message):
    with pytest.raises(MappingValidationError) as info:
        validate_mapping(mapping)
    assert (path, message) in info.value.errors
    assert message in str(info.value)
    with pytest.raises(MappingValidationError):
        compile_mapping(mapping)


def test_all_errors_are_collected():
    with pytest.raises(MappingValidationError) as info:
        validate_mapping({"a": {"@template": 1}, "b": {"@path": 2}, "c": "ok"})
    assert [p for p, _ in info.value.errors] == ["/a/@template", "/b/@path"]


def test_valid_mappings_pass():
    validate_mapping({"a": {"@path": "$.x"}, "b": [{"@anything": 1}], "c": {"@literal": {"k": {"@x": 1}}}, "d": None})
    validate_mapping({"a": {"@path": "$.x", "_metadata": {"k": 1}}})


def test_null_mapping_is_invalid():
    with pytest.raises(MappingValidationError):
        compile_mapping(None)
