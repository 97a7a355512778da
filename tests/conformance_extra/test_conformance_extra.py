"""Generated conformance cases (tests/conformance_extra/cases/*.jsonl) answered by amprelay must equal
the reference's answers recorded by dev/oracle (tests/conformance_extra/expected/), by the rules of
tests/conformance/compare.py. Regenerate with `.venv/bin/python dev/difffuzz.py --write-extra`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from amprelay.conformance import run_case
from amprelay.destination.js import js_json_loads
from amprelay.destination.request import to_json_bytes

HERE = Path(__file__).parent
COMPARE = HERE.parent / "conformance" / "compare.py"
NOW_MS = 1704067200000
CASE_FILES = sorted((HERE / "cases").glob("*.jsonl"))


def _load_compare():
    spec = importlib.util.spec_from_file_location("conformance_compare_extra", COMPARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare = _load_compare()


def _cases():
    for path in CASE_FILES:
        expected = {}
        for line in (HERE / "expected" / path.name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                expected[row["id"]] = row
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = js_json_loads(line)
                yield pytest.param(case, expected[case["id"]], id=f"{path.stem}:{case['id']}")


def test_every_case_has_an_expected_answer():
    assert CASE_FILES, "no generated cases: run dev/difffuzz.py --write-extra"
    for path in CASE_FILES:
        case_ids = [json.loads(x)["id"] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        exp_ids = [json.loads(x)["id"] for x in (HERE / "expected" / path.name).read_text(encoding="utf-8").splitlines()
                   if x.strip()]
        assert case_ids == exp_ids


@pytest.mark.parametrize(("case", "expected"), list(_cases()))
def test_generated_case_matches_reference(case, expected):
    # through the JSON encoding preview --jsonl uses, so numbers compare as JavaScript wrote them
    actual = json.loads(to_json_bytes(run_case(case, NOW_MS)))
    diffs = compare.compare_case(expected, actual)
    assert not diffs, f"{case['id']}: " + "; ".join(
        f"{p}: expected {compare.fmt(e)} | actual {compare.fmt(a)}" for p, e, a in diffs[:6]
    )
