"""amprelay.masking: configured secrets, labelled values, key-shaped text in Amplitude's answers,
values in objects, and the logging filter."""

from __future__ import annotations

import io
import logging
import string

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from amprelay.delivery.responses import classify
from amprelay.logs import JSONFormatter
from amprelay.masking import (
    MASK,
    MaskingFilter,
    forget_secrets,
    mask_answer,
    mask_text,
    mask_value,
    register_secrets,
)

API_KEY = "0123456789abcdef0123456789abcdef"
SECRET = "s3cr3t-Secret-Key-42"


@pytest.fixture(autouse=True)
def registered():
    forget_secrets()
    register_secrets([API_KEY, SECRET, "tiny", None, ""])
    yield
    forget_secrets()


def test_configured_secrets_are_masked_wherever_they_occur():
    assert mask_text(f"sent with {API_KEY}; basic auth {SECRET}!") == f"sent with {MASK}; basic auth {MASK}!"
    # short values are masked as field values only: inside text they would mask every word
    assert mask_text("a tiny thing") == "a tiny thing"
    assert mask_value({"note": "tiny"}) == {"note": MASK}


@pytest.mark.parametrize(("text", "expected"), [
    ("Invalid API key: ffffeeeeddddccccbbbbaaaa99998888", f"Invalid API key: {MASK}"),
    ('{"api_key": "k-abc-123", "n": 1}', f'{{"api_key": "{MASK}", "n": 1}}'),
    ("api_key=zzzz9999&user_id=u1", f"api_key={MASK}&user_id=u1"),
    ("secretKey: hunter22", f"secretKey: {MASK}"),
    ("writeKey=wk_live_1", f"writeKey={MASK}"),
    ("Authorization: Bearer abcdefgh", f"Authorization: Bearer {MASK}"),
    ("authorization: Basic d2s6", f"authorization: Basic {MASK}"),
    # prose and Amplitude's field names stay readable
    ("the API key is invalid", "the API key is invalid"),
    ("the write key is empty", "the write key is empty"),
    ("missing_field: api_key", "missing_field: api_key"),
    ("Request missing required field", "Request missing required field"),
    ("secretKey: ********", "secretKey: ********"),
])
def test_labelled_values_are_masked_whether_configured_or_not(text, expected):
    assert mask_text(text) == expected


def test_answers_lose_anything_shaped_like_a_key_but_other_text_keeps_ids():
    other_project = "9" * 32
    assert mask_answer(f"no such project {other_project}") == f"no such project {MASK}"
    device = "a" * 32  # a 32-hex device id is data, not a key, outside Amplitude's answers
    assert mask_text(f"device {device}") == f"device {device}"


def test_values_in_objects():
    value = {"apiKey": "anything", "api_key": "x", "settings": {"secretKey": "y", "endpoint": "europe"},
             "writeKey": "wk", "events": [{"note": f"key {API_KEY}"}], "empty": {"apiKey": ""}, "n": 3}
    assert mask_value(value) == {
        "apiKey": MASK, "api_key": MASK, "settings": {"secretKey": MASK, "endpoint": "europe"},
        "writeKey": MASK, "events": [{"note": f"key {MASK}"}], "empty": {"apiKey": ""}, "n": 3}


def test_amplitude_echoing_the_key_never_reaches_outcomes_or_errors():
    body = orjson.dumps({"code": 400, "error": f"Invalid API key: {'e' * 32}"})
    verdict = classify(400, body, [b"{}", b"{}"])
    assert "e" * 32 not in verdict.error
    assert all("e" * 32 not in o.reason for o in verdict.outcomes)
    assert verdict.hold
    transport = classify(None, None, [b"{}"], f"connection to https://x/?api_key={API_KEY} failed")
    assert API_KEY not in transport.error


def _capture(json_logs: bool = True) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter() if json_logs else logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger(f"test.masking.{json_logs}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


@pytest.mark.parametrize("json_logs", [True, False])
def test_the_logging_filter_masks_message_args_fields_and_tracebacks(json_logs):
    logger, stream = _capture(json_logs)
    logger.warning("Amplitude said %s", f"Invalid API key: {'c' * 32}")
    logger.error("sending with %s", API_KEY, extra={"fields": {"settings": {"apiKey": API_KEY}, "x": SECRET}})
    try:
        raise RuntimeError(f"boom with {SECRET}")
    except RuntimeError:
        logger.exception("failed")
    logger.info("plain %d%%", 5)
    out = stream.getvalue()
    for secret in (API_KEY, SECRET, "c" * 32):
        assert secret not in out
    assert "RuntimeError: boom with ********" in out.replace("\\n", "\n")
    assert "plain 5%" in out
    assert len(out.strip().splitlines()) >= 4


_SECRET_CHARS = string.ascii_letters + string.digits + "-_."


@given(secret=st.text(_SECRET_CHARS, min_size=8, max_size=40),
       before=st.text(max_size=40), after=st.text(max_size=40))
@example(secret="abcdefgh", before="abcdefg", after="h")  # overlapping prefixes
@example(secret="aaaaaaaa", before="a", after="aaaa")
def test_a_registered_secret_never_survives_in_text(secret, before, after):
    register_secrets([secret])
    text = before + secret + after
    assert secret not in mask_text(text)
    assert secret not in mask_answer(text)
    assert secret not in orjson.dumps(mask_value({"k": [text, {"apiKey": secret}]})).decode()
