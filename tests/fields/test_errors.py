"""Error wording and ordering as @segment/ajv-human-errors produces them."""

from __future__ import annotations

import pytest

from amprelay.fields import InputField, PayloadValidationError, compile_validator

from .helpers import PURCHASE_FIELDS

validate = compile_validator(PURCHASE_FIELDS)


def errors(payload: dict) -> PayloadValidationError:
    with pytest.raises(PayloadValidationError) as exc:
        validate(payload)
    return exc.value


def test_messages_are_joined_by_a_space_required_first_then_declaration_order() -> None:
    err = errors({"time": "nope", "price": "abc", "user_id": ["x"]})
    assert str(err) == (
        "The root value is missing the required field 'event_type'. User ID must be a string or null but it was a"
        " string. Timestamp must be a valid date-like string but it was not. Price must be a number but it was a"
        " string."
    )
    assert [e.pointer for e in err.errors] == ["", "/user_id", "/time", "/price"]
    assert err.status == 400


def test_nested_pointers_and_titles() -> None:
    err = errors({"event_type": "E", "products": [{"price": "x"}, "y", {"quantity": 1.5}]})
    assert [e.message for e in err.errors] == [
        "Price must be a number but it was a string.",
        "The value at /products/1 must be an object but it was a string.",
        "Quantity must be an integer but it was a number.",
    ]
    assert [e.pointer for e in err.errors] == ["/products/0/price", "/products/1", "/products/2/quantity"]


def test_untitled_values_use_their_pointer_with_escapes() -> None:
    fields = {
        "o": InputField(key="o", label="", type="object", properties={"a/b~c": InputField(key="a/b~c", label="", type="number")}),
        "tags": InputField(key="tags", label="Tags", type="string", multiple=True, choices=("a", "b", "c")),
    }
    v = compile_validator(fields)
    with pytest.raises(PayloadValidationError) as exc:
        v({"o": {"a/b~c": "x"}, "tags": ["a", "z"]})
    assert str(exc.value) == (
        "The value at /o/a~1b~0c must be a number but it was a string. "
        'The value at /tags/1 must be one of: "a", "b", or "c".'
    )


def test_bounds_and_lengths() -> None:
    fields = {
        "s": InputField(key="s", label="S", type="string", minimum=2, maximum=3),
        "n": InputField(key="n", label="N", type="number", minimum=1, maximum=10),
    }
    v = compile_validator(fields)
    with pytest.raises(PayloadValidationError) as exc:
        v({"s": "abcd", "n": 11})
    assert str(exc.value) == (
        "S must be 3 characters or fewer but it was 4 characters. N must be equal to or less than 10."
    )
    with pytest.raises(PayloadValidationError) as exc:
        v({"s": "a", "n": 0.5})
    assert str(exc.value) == "S must be 2 characters or more but it was 1 character. N must be equal to or greater than 1."


def test_formats() -> None:
    fields = {
        "u": InputField(key="u", label="Site", type="string", format="uri"),
        "d": InputField(key="d", label="When", type="string", format="date-time"),
        "e": InputField(key="e", label="Mail", type="string", format="email"),
    }
    v = compile_validator(fields)
    assert v({"u": "https://x.io/a", "d": "2023-01-01T00:00:00Z", "e": "a@b.co"})
    with pytest.raises(PayloadValidationError) as exc:
        v({"u": "nope", "d": "2023-01-01", "e": "x"})
    assert str(exc.value) == (
        "Site must be a valid URI string but it was not. When must be a valid date and time string but it was not. "
        "Mail must be a valid email address string but it was not."
    )


def test_unknown_format_fails_at_compile_time() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        compile_validator({"x": InputField(key="x", label="X", type="string", format="nope")})


def test_non_object_payload() -> None:
    with pytest.raises(PayloadValidationError, match="^The root value must be an object but it was an array.$"):
        validate([])  # type: ignore[arg-type]
