import math

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from amprelay.destination.request import AmplitudeRequest, form_urlencode, jsify, to_json_bytes
from amprelay.js import number_to_string


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1e-6, "0.000001"),
        (1.5e-6, "0.0000015"),
        (1e-7, "1e-7"),
        (1.2345e-7, "1.2345e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (2.0**60, "1152921504606847000"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (123.456, "123.456"),
    ],
)
def test_numbers_serialise_like_json_stringify(value, text):
    assert to_json_bytes([value]) == f"[{text}]".encode()


def test_big_integers_lose_precision_like_javascript():
    assert to_json_bytes({"a": 2**60, "b": 2**70}) == b'{"a":1152921504606847000,"b":1.1805916207174113e+21}'


def test_nan_and_infinity_are_null():
    assert to_json_bytes([math.nan, math.inf]) == b"[null,null]"


def test_key_order_and_unicode_are_kept():
    assert to_json_bytes({"b": 1, "a": "é\n"}) == '{"b":1,"a":"é\\n"}'.encode()


def test_strings_that_look_like_numbers_are_untouched():
    assert to_json_bytes({"a": "x 1.0,", "b": "1e+5]", "c": 1.5}) == b'{"a":"x 1.0,","b":"1e+5]","c":1.5}'


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_to_string_round_trips(x):
    assert float(number_to_string(x)) == x


def test_form_body_is_url_search_params_encoding():
    assert form_urlencode({"a": "x y*~'", "b": '{"k":"é"}'}) == b"a=x+y*%7E%27&b=%7B%22k%22%3A%22%C3%A9%22%7D"


def test_request_body_bytes_and_decoded_body():
    r = AmplitudeRequest("POST", "https://x", "form", form={"api_key": "k", "options": "undefined", "mapping": '[{"a":1}]'})
    assert r.body_bytes() == b"api_key=k&options=undefined&mapping=%5B%7B%22a%22%3A1%7D%5D"
    assert r.decoded_body() == {"api_key": "k", "options": "undefined", "mapping": [{"a": 1}]}
    j = AmplitudeRequest("POST", "https://x", "json", json={"events": [{"time": 1.0}]})
    assert orjson.loads(j.body_bytes()) == {"events": [{"time": 1}]}
    assert j.content_type == "application/json"


# The fast paths above against their plain definitions: form encoding byte by byte with
# URLSearchParams' table, JSON as orjson writes the jsify'd (JavaScript-number) copy.
_URL_SEARCH_PARAMS_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")


def _url_search_params_component(text: str) -> str:
    return "".join(
        chr(b) if b in _URL_SEARCH_PARAMS_SAFE else ("+" if b == 0x20 else f"%{b:02X}") for b in text.encode()
    )


@given(st.dictionaries(st.text(), st.text(), max_size=4))
@example({"a b": "+% %2B+", "é": "😀 ~*'()"})
@example({"k": "%+ %25"})
def test_form_encoding_matches_url_search_params_byte_by_byte(form):
    expected = "&".join(_url_search_params_component(k) + "=" + _url_search_params_component(v) for k, v in form.items())
    assert form_urlencode(form) == expected.encode()


_NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from([0.0, -0.0, 19.0, -5.0, 9.5e15, 1e16, 1e-6, 1.5e-6, 1e20, 1e21, 2.0**53]),
)
_TRICKY_TEXT = st.text(alphabet=st.sampled_from(list('ab"\\:,[]{}.0-9e+ \n')), max_size=12)
_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), _NUMBERS, _TRICKY_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TRICKY_TEXT, inner, max_size=4)),
    max_leaves=20,
)


@given(st.one_of(st.lists(_VALUES, max_size=4), st.dictionaries(_TRICKY_TEXT, _VALUES, max_size=4)))
@example({"a": "x:1.0,", "b": 19.0, "c": [-0.0, 2.0], "d": "\\", "e": "9e-6a"})
@example({"id": "8e-6a", "price": 149.0})
def test_json_bytes_equal_javascript_numbers_copy(value):
    assert to_json_bytes(value) == orjson.dumps(jsify(value))
