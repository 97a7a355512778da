"""The ISO fast path of the time conversion agrees with the full dayjs emulation."""

from hypothesis import given
from hypothesis import strategies as st

from amprelay.destination.actions._common import epoch_ms, format_session_id
from amprelay.fields.dates import dayjs_utc_value


@given(
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 61),
    st.integers(0, 61), st.one_of(st.none(), st.integers(0, 999)),
)
def test_iso_fast_path_equals_dayjs(year, month, day, hour, minute, second, ms):
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}" + ("" if ms is None else f".{ms:03d}") + "Z"
    a, b = epoch_ms(text), dayjs_utc_value(text)
    assert (a != a and b != b) or a == b


def test_session_id_digits_are_numbers():
    assert format_session_id("1683000000000") == 1683000000000
    assert format_session_id("0") == 0
    assert format_session_id("99999999999999999999") == 1e20
    assert format_session_id("2023-05-01") == 1682899200000
