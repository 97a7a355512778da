from amprelay.destination.actions._common import format_session_id


def test_session_id_digits_are_numbers():
    assert format_session_id("1683000000000") == 1683000000000
    assert format_session_id("0") == 0
    assert format_session_id("99999999999999999999") == 1e20
    assert format_session_id("2023-05-01") == 1682899200000
    assert format_session_id(" 123") == -58285699200000
