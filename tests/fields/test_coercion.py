"""BEHAVIORS.md item 3 (ajv coercion), one test per row, on a logPurchase-like field set."""

from __future__ import annotations

from typing import Any

import pytest

from amprelay.fields import PayloadValidationError, compile_validator

from .helpers import PURCHASE_FIELDS

validate = compile_validator(PURCHASE_FIELDS)


def run(**fields: Any) -> dict[str, Any]:
    return validate({"event_type": "E", **fields})


def error_of(**fields: Any) -> str:
    with pytest.raises(PayloadValidationError) as exc:
        run(**fields)
    return str(exc.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("12.50", 12.5), (" 7 ", 7), ("1e3", 1000), (True, 1), (False, 0), ("0x10", 16), (["3"], 3), ("-0", 0)],
)
def test_number_coercions(given: Any, expected: Any) -> None:
    out = run(price=given)["price"]
    assert out == expected and type(out) in (int, float) and type(out) is not bool


@pytest.mark.parametrize("given", ["abc", "12,50", "$9.99", "NaN", {}, [], [1, 2], "1_0"])
def test_number_rejections(given: Any) -> None:
    kind = {str: "a string", dict: "an object", list: "an array"}[type(given)]
    assert error_of(price=given) == f"Price must be a number but it was {kind}."


@pytest.mark.parametrize(("given", "expected"), [("3", 3), ("2.0", 2), (True, 1), ("1e3", 1000), (2.0, 2.0)])
def test_integer_coercions(given: Any, expected: int) -> None:
    assert run(quantity=given)["quantity"] == expected


@pytest.mark.parametrize(("given", "kind"), [(2.5, "a number"), ("x", "a string"), ("2.5", "a string")])
def test_integer_rejections(given: Any, kind: str) -> None:
    assert error_of(quantity=given) == f"Quantity must be an integer but it was {kind}."


@pytest.mark.parametrize(
    ("given", "expected"),
    [(12345, "12345"), (12.5, "12.5"), (True, "true"), (["x"], "x"), (1e21, "1e+21"), (1e-7, "1e-7"), (1e16, "10000000000000000")],
)
def test_string_coercions(given: Any, expected: str) -> None:
    assert run(device_id=given)["device_id"] == expected


def test_string_rejects_objects() -> None:
    assert error_of(device_id={"a": 1}) == "Device ID must be a string but it was an object."
    assert error_of(device_id=["a", "b"]) == "Device ID must be a string but it was an array."


def test_nullable_string_one_element_array_is_an_error() -> None:
    assert error_of(user_id=["x"]) == "User ID must be a string or null but it was a string."


def test_nullable_string_keeps_null_and_coerces_scalars() -> None:
    assert run(user_id=None)["user_id"] is None
    assert run(user_id=5)["user_id"] == "5"
    assert run(user_id=[5])["user_id"] == "5"  # the unwrapped number is then coerced to a string


@pytest.mark.parametrize(("given", "expected"), [("true", True), ("false", False), (1, True), (0, False), ([True], True)])
def test_boolean_coercions(given: Any, expected: bool) -> None:
    assert run(use_batch_endpoint=given)["use_batch_endpoint"] is expected


@pytest.mark.parametrize("given", ["yes", 2, "TRUE"])
def test_boolean_rejections(given: Any) -> None:
    assert error_of(use_batch_endpoint=given).startswith("Use Batch Endpoint must be a boolean but it was")


@pytest.mark.parametrize("key", ["event_properties", "user_properties", "groups"])
@pytest.mark.parametrize(("given", "kind"), [("x", "a string"), ([1], "an array"), (5, "a number")])
def test_object_fields_reject_strings_and_arrays(key: str, given: Any, kind: str) -> None:
    label = {"event_properties": "Event Properties", "user_properties": "User Properties", "groups": "Groups"}[key]
    assert error_of(**{key: given}) == f"{label} must be an object but it was {kind}."


@pytest.mark.parametrize("given", [1683000000000, 0, -1, 1.5, 1e300])
def test_datetime_accepts_any_number(given: float) -> None:
    assert run(time=given)["time"] == given


@pytest.mark.parametrize("given", ["not-a-date", "2023-13-45T99:99:99Z", "abc", True])
def test_datetime_rejects_non_date_strings(given: Any) -> None:
    assert error_of(time=given) == "Timestamp must be a valid date-like string but it was not."


def test_datetime_true_is_coerced_to_the_string_true_first() -> None:
    with pytest.raises(PayloadValidationError) as exc:
        run(session_id=True)
    assert exc.value.errors[0].pointer == "/session_id"


@pytest.mark.parametrize("given", ["2023-05-01", "2021-08-17T15:21:15.449Z", "1683000000000", "0", "Jan 5 2023"])
def test_datetime_accepts_date_like_strings(given: str) -> None:
    assert run(time=given)["time"] == given


def test_datetime_one_element_array() -> None:
    assert run(time=[5])["time"] == "5"
    assert error_of(time=["2023-01-01"]) == "Timestamp must be a string or number but it was a string."


def test_group_type_numbers_become_strings() -> None:
    assert run(group_type=5)["group_type"] == "5"


def test_products_items_are_coerced_and_input_is_not_mutated() -> None:
    item = {"price": "1.5", "productId": 7, "extra": "kept"}
    props = {"products": [item]}
    out = run(products=[item], event_properties=props)
    assert out["products"] == [{"price": 1.5, "productId": "7", "extra": "kept"}]
    assert out["event_properties"]["products"][0] == {"price": "1.5", "productId": 7, "extra": "kept"}
    assert item == {"price": "1.5", "productId": 7, "extra": "kept"}


def test_single_product_object_is_arrified() -> None:
    assert run(products={"price": 2})["products"] == [{"price": 2}]


def test_product_that_is_a_string() -> None:
    assert error_of(products="x") == "The value at /products/0 must be an object but it was a string."


def test_null_coercion_in_products() -> None:
    out = run(products=[{"price": None, "productId": None, "quantity": None}])
    assert out["products"] == [{"price": 0, "productId": "", "quantity": 0}]


def test_empty_string_price_in_products_is_rejected() -> None:
    assert error_of(products=[{"price": ""}]) == "Price must be a number but it was a string."


@pytest.mark.parametrize(("given", "expected"), [(None, None), (0, 0), ("3", 3), (False, 0), (-1, -1)])
def test_nullable_integer(given: Any, expected: Any) -> None:
    assert run(min_id_length=given)["min_id_length"] == expected


def test_enum_after_coercion_and_both_errors() -> None:
    assert run(library2={"behavior": ["auto"]})["library2"] == {"behavior": "auto"}
    assert error_of(library2={"behavior": {}}) == (
        'Behavior must be a string but it was an object. Behavior must be one of: "auto" or "use_mapping".'
    )
    assert error_of(library2={"behavior": "x"}) == 'Behavior must be one of: "auto" or "use_mapping".'


def test_longtitude_label_typo_is_kept() -> None:
    assert error_of(location_lng="west") == "Longtitude must be a number but it was a string."
