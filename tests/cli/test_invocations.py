"""Every subcommand, given missing, wrong or conflicting arguments, answers with a one-line
error and a non-zero exit: never a traceback, never the top-level usage."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from amprelay.cli.main import build_parser, main

# (command, arguments) per subcommand; run from an empty directory without any relay variable.
BAD = {
    "demo": [["--keep", "extra"], ["--bogus"]],
    "serve": [[], ["--port", "http"], ["--port", "99999"], ["--config", "missing.yaml"],
              ["--config", "not-yaml.yaml"]],
    "validate": [[], ["missing.yaml"], ["not-yaml.yaml"], ["a.yaml", "b.yaml"]],
    "preview": [[], ["missing.json"], ["not-json.json"], ["--now", "soon", "event.json"],
                ["--jsonl", "--config", "amprelay.yaml"], ["--destination", "x", "event.json"],
                ["--config", "missing.yaml", "event.json"], ["--action", "nope", "event.json"]],
    "replay": [[], ["missing.jsonl"], ["--batch", "0", "event.json"], ["--rate", "-1", "event.json"],
               ["--since", "yesterday", "event.json"], ["--dry-run", "--source", "nowhere", "event.json"], ["--dry-run", "--since", "2026-02-01", "--until",
                                                        "2026-01-01", "event.json"]],
    "fake-amplitude": [["--port", "x"], ["--error-rate", "5"], ["--drop-mode", "sideways"],
                       ["--record", "no/such/dir/x.jsonl", "--port", "0"]],
    "dlq": [[], ["bogus"], ["list"], ["list", "--kind", "nope"], ["list", "--since", "soon", "--db", "x.db"],
            ["list", "--db", "x.db", "--data-dir", "data"], ["list", "--db", "not-json.json"],
            ["show"], ["show", "abc"], ["retry"], ["retry", "1"], ["retry", "x"], ["purge", "--db", "x.db"],
            ["list", "--config", "missing.yaml"], ["list", "--limit", "many"]],
    "check-auth": [[], ["--timeout", "x"], ["--settings", "missing.json"], ["--settings", "not-json.json"],
                   ["--settings", "s.json", "--config", "amprelay.yaml"], ["--destination", "x"]],
    "delete-user": [[], ["u1"], ["u1", "--config", "missing.yaml"], ["u1", "--settings", "s.json", "-c", "c.yaml"]],
    "migrate": [[], ["--config", "missing.yaml"], ["--dsn", "postgresql://127.0.0.1:1/nothing"]],
    "import-segment": [[], ["missing.json"], ["not-json.json"], ["event.json"], ["list.json"]],
    "export-segment": [[], ["--config", "missing.yaml"], ["--config", "not-yaml.yaml"]],
    "migrate-classic": [[], ["missing.json"], ["not-json.json"], ["list.json"]],
    "reload": [["--config", "missing.yaml"], ["--config", "not-yaml.yaml"], ["--data-dir", "no-relay-here"],
               ["--bogus"]],
}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-yaml.yaml").write_text("sources: [unclosed\n")
    (tmp_path / "not-json.json").write_text("{nope")
    (tmp_path / "event.json").write_text(json.dumps({"type": "track", "event": "E", "userId": "u"}))
    (tmp_path / "list.json").write_text("[1, 2]")
    return tmp_path


def subcommands() -> set[str]:
    parser = build_parser()
    [action] = [a for a in parser._actions if a.dest == "command"]
    return set(action.choices)


def test_every_subcommand_is_covered():
    assert set(BAD) == subcommands()


@pytest.mark.parametrize("command, args", [(c, a) for c, cases in BAD.items() for a in cases],
                         ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_bad_invocation_is_one_line_and_non_zero(workdir, capsys, command, args):
    try:
        code = main([command, *args])  # any exception other than SystemExit fails the test
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code not in (0, None), (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith((f"amprelay {command}", command)), err
    assert "Traceback" not in err + out and "usage:" not in err


def test_a_bad_invocation_in_a_real_process_has_no_traceback(workdir):
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "dlq", "list", "--db", "not-json.json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("amprelay dlq: cannot open the store") and not r.stdout
