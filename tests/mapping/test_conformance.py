"""Every `kind: mapping` case of the conformance files, plus recorded reference answers of
@segment/actions-core 3.170.0 mapping-kit (tests/mapping/data, see record_reference.js)."""

from __future__ import annotations

import glob
import os

import pytest

from tests.mapping.helpers import CONFORMANCE, DATA, load_jsonl, parity


def _conformance_mapping_cases() -> list[tuple[list[dict], dict[str, dict]]]:
    out = []
    for path in sorted(glob.glob(os.path.join(CONFORMANCE, "cases", "*.jsonl"))):
        cases = [c for c in load_jsonl(path) if c.get("kind") == "mapping"]
        if not cases:
            continue
        expected = {e["id"]: e for e in load_jsonl(path.replace(os.sep + "cases" + os.sep, os.sep + "expected" + os.sep))}
        out.append((os.path.basename(path), cases, expected))
    return out


CONFORMANCE_SETS = _conformance_mapping_cases()
RECORDED = ["edge", "fuzz", "liquid"]


def test_conformance_has_mapping_cases():
    assert sum(len(cases) for _, cases, _ in CONFORMANCE_SETS) >= 600


@pytest.mark.parametrize("fast", [True, False], ids=["codegen", "closures"])
@pytest.mark.parametrize("name,cases,expected", CONFORMANCE_SETS, ids=[n for n, _, _ in CONFORMANCE_SETS])
def test_conformance_parity(name, cases, expected, fast):
    bad = parity(cases, expected, fast)
    assert bad == [], f"{name}: {len(cases) - len(bad)}/{len(cases)} parity; differing: {bad[:20]}"


@pytest.mark.parametrize("fast", [True, False], ids=["codegen", "closures"])
@pytest.mark.parametrize("name", RECORDED)
def test_recorded_reference_parity(name, fast):
    cases = load_jsonl(os.path.join(DATA, f"{name}.cases.jsonl"))
    expected = {e["id"]: e for e in load_jsonl(os.path.join(DATA, f"{name}.expected.jsonl"))}
    assert len(cases) == len(expected)
    bad = parity(cases, expected, fast)
    assert bad == [], f"{name}: {len(cases) - len(bad)}/{len(cases)} parity; differing: {bad[:20]}"
