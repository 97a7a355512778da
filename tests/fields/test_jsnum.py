from __future__ import annotations

import math

import pytest

from amprelay.fields.jsnum import js_number_to_string, js_string_to_number, normalize_number


@pytest.mark.parametrize(
    ("x", "s"),
    [(0, "0"), (-0.0, "0"), (1.0, "1"), (12.5, "12.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
     (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (1e-6, "0.000001"), (0.1 + 0.2, "0.30000000000000004"),
     (2.0**60, "1152921504606847000"), (-2.5, "-2.5"), (math.inf, "Infinity"), (-math.inf, "-Infinity"),
     (math.nan, "NaN"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
     (123456789, "123456789"), (2**70, "1.1805916207174113e+21")],
)
def test_number_to_string(x: float, s: str) -> None:
    assert js_number_to_string(x) == s


@pytest.mark.parametrize(
    ("s", "x"),
    [("", 0), ("  ", 0), (" 7 ", 7), ("\u00a012\ufeff", 12), ("1e3", 1000), (".5", 0.5), ("5.", 5), ("+5", 5),
     ("-0", 0), ("0x10", 16), ("0B101", 5), ("0o17", 15), ("Infinity", math.inf), ("-Infinity", -math.inf),
     ("1e400", math.inf)],
)
def test_string_to_number(s: str, x: float) -> None:
    assert js_string_to_number(s) == x


@pytest.mark.parametrize("s", ["abc", "12,50", "$9.99", "1_000", "nan", "inf", "infinity", "-0x10", "0x", "1e", "e5", "--1"])
def test_string_to_number_nan(s: str) -> None:
    assert math.isnan(js_string_to_number(s))


def test_normalize_number() -> None:
    assert type(normalize_number(2.0)) is int
    assert type(normalize_number(2.5)) is float
    assert type(normalize_number(2.0**60)) is float
    assert math.isinf(normalize_number(math.inf))
