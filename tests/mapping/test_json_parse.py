"""`@json`'s decoder is JSON.parse: strict, long integers rounded to doubles."""

from __future__ import annotations

import pytest

from amprelay.mapping.directives import _json_parse as json_parse


def test_json_parse_is_strict_like_js():
    assert json_parse(' {"a": [1, 2.5]} ') == {"a": [1, 2.5]}
    for bad in ("NaN", "Infinity", "{a:1}", "'x'", ""):
        with pytest.raises(ValueError):
            json_parse(bad)
    assert json_parse("12345678901234567890") == 12345678901234567000.0
