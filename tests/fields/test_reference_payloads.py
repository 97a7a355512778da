"""Recorded answers of the reference (actions-core 3.170.0: removeEmptyValues + ajv + ajv-human-errors) for
random payloads on several field sets, including the reference Amplitude actions' own declarations
(regenerate with dev/fields_oracle/make_fixtures.py)."""

from __future__ import annotations

import json

from amprelay.fields import PayloadValidationError, compile_validator

from .helpers import DATA, js_equal, load_fieldsets


def test_reference_payload_answers() -> None:
    validators = {name: compile_validator(fields) for name, fields in load_fieldsets().items()}
    mismatches = []
    count = 0
    for line in (DATA / "payloads.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        try:
            result, error = validators[case["fieldset"]](case["payload"]), None
        except PayloadValidationError as exc:
            result, error = None, str(exc)
        if error != case["error"] or (error is None and not js_equal(result, case["result"])):
            mismatches.append((case, result, error))
        count += 1
    assert count >= 2000
    assert mismatches[:5] == []
