"""Every conformance case (tests/conformance/cases/*.jsonl) answered by amprelay must equal the
reference's recorded answer (tests/conformance/expected/), by the rules of compare.py."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from amprelay.conformance import run_case
from amprelay.destination.js import js_json_loads
from amprelay.destination.request import to_json_bytes

HERE = Path(__file__).parent / "conformance"
NOW_MS = 1704067200000
CASE_FILES = sorted((HERE / "cases").glob("*.jsonl"))


def _load_compare():
    spec = importlib.util.spec_from_file_location("conformance_compare", HERE / "compare.py")
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


@pytest.mark.parametrize(("case", "expected"), list(_cases()))
def test_case_matches_reference(case, expected):
    # through the JSON encoding preview --jsonl uses, so numbers compare as JavaScript wrote them
    actual = json.loads(to_json_bytes(run_case(case, NOW_MS)))
    diffs = compare.compare_case(expected, actual)
    assert not diffs, f"{case['id']}: " + "; ".join(
        f"{p}: expected {compare.fmt(e)} | actual {compare.fmt(a)}" for p, e, a in diffs[:6]
    )


def test_preview_jsonl_subprocess_parity(tmp_path):
    """`amprelay preview --jsonl --now ...` over one whole file: one answer per case, in order,
    parity by compare.py."""
    name = "ported.jsonl"
    cases_path = HERE / "cases" / name
    out_path = tmp_path / name
    with cases_path.open("rb") as stdin, out_path.open("wb") as stdout:
        proc = subprocess.run(
            [sys.executable, "-m", "amprelay.cli.main", "preview", "--jsonl", "--now", str(NOW_MS)],
            stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=120, check=False,
        )
    assert proc.returncode == 0, proc.stderr.decode()
    ids = [json.loads(line)["id"] for line in cases_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answers = [orjson.loads(line) for line in out_path.read_bytes().splitlines() if line.strip()]
    assert [a["id"] for a in answers] == ids
    report = subprocess.run(
        [sys.executable, str(HERE / "compare.py"), "--expected", str(HERE / "expected" / name), "--actual", str(out_path)],
        capture_output=True, text=True, timeout=120, check=True,
    )
    last = report.stdout.strip().splitlines()[-1]
    assert last == f"parity: {len(ids)}/{len(ids)}", report.stdout
