"""The fake as a separate process, and the ``amprelay fake-amplitude`` command line."""

from __future__ import annotations

import httpx
import orjson
import pytest

from amprelay.fakeamp import start_process
from amprelay.fakeamp.command import build_parser, faults_from_args
from amprelay.fakeamp.runner import cli_args
from tests.fakeamp.helpers import body, event


@pytest.mark.slow
def test_start_process_with_flags_and_record_file(tmp_path):
    record = tmp_path / "events.jsonl"
    fake = start_process(
        port=0,
        record_path=str(record),
        eps_limit=2,
        eps_window_s=10,
        invalid_api_keys=["bad"],
        max_body_bytes=50_000,
    )
    try:
        assert fake.process.poll() is None
        cfg = fake.config()
        assert (cfg["eps_limit"], cfg["eps_window_s"], cfg["invalid_api_keys"]) == (2, 10.0, ["bad"])
        assert httpx.post(fake.url + "/2/httpapi", json=body([event(1)])).status_code == 200
        r = httpx.post(fake.url + "/2/httpapi", json=body([event(1)] * 20 * 2))
        assert r.status_code == 429
        assert httpx.post(fake.url + "/2/httpapi", json=body([event(2)], api_key="bad")).status_code == 400
        big = body([event(3, event_properties={"pad": "x" * 60_000})])
        assert httpx.post(fake.url + "/batch", json=big).status_code == 413
        assert httpx.post(fake.eu_url + "/batch", json=body([event(4)])).status_code == 200
        recs = fake.events()
        assert [(r["path"], r["region"]) for r in recs] == [("/2/httpapi", "na"), ("/batch", "eu")]
        assert [orjson.loads(line) for line in record.read_bytes().splitlines()] == recs
    finally:
        fake.stop()
    assert fake.process.returncode is not None


def test_cli_flags_map_onto_fault_config():
    args = build_parser().parse_args(
        [
            "--port", "0",
            "--record", "out.jsonl",
            "--error-rate", "0.1",
            "--seed", "3",
            "--eps-limit", "10",
            "--eps-window", "2",
            "--max-body-bytes", "1000",
            "--max-events-per-request", "50",
            "--latency-ms", "5",
            "--drop-rate", "0.01",
            "--invalid-api-key", "k1", "k2",
            "--valid-api-keys", "v1",
            "--error-statuses", "500", "503",
        ]
    )
    assert args.port == 0
    assert args.record == "out.jsonl"
    assert faults_from_args(args) == {
        "error_rate": 0.1,
        "error_statuses": [500, 503],
        "seed": 3,
        "drop_rate": 0.01,
        "latency_ms": 5.0,
        "eps_limit": 10,
        "eps_window_s": 2.0,
        "max_body_bytes": 1000,
        "max_events_per_request": 50,
        "valid_api_keys": ["v1"],
        "invalid_api_keys": ["k1", "k2"],
    }


def test_cli_args_round_trip():
    faults = {"error_rate": 0.5, "invalid_api_keys": ["a", "b"], "eps_window_s": 3.0, "drop_mode": "after"}
    args = build_parser().parse_args(cli_args(faults))
    assert faults_from_args(args) == {**faults, "invalid_api_keys": ["a", "b"]}


def test_registered_in_amprelay_command():
    from amprelay.cli.main import build_parser as main_parser

    args = main_parser().parse_args(["fake-amplitude", "--port", "9010", "--eps-limit", "5"])
    assert args.port == 9010
    assert args.eps_limit == 5
    assert callable(args.func)


def test_bad_settings_fail_fast():
    with pytest.raises(ValueError):
        start_process(port=0, error_rate=5)


def test_help_lists_the_control_endpoints_and_each_answers(capsys, fake):
    import re

    from amprelay.cli.main import main as amprelay_main

    with pytest.raises(SystemExit):
        amprelay_main(["fake-amplitude", "--help"])
    out = capsys.readouterr().out
    listed = re.findall(r"^  (GET|POST) +(/_fake/\w+)", out, re.M)
    assert sorted(listed) == sorted([("GET", "/_fake/health"), ("GET", "/_fake/events"), ("GET", "/_fake/stats"),
                                     ("POST", "/_fake/reset"), ("GET", "/_fake/config"), ("POST", "/_fake/config")])
    for method, path in listed:
        assert fake.client.request(method, path).status_code == 200, (method, path)
    assert "since=SEQ" in out and "region=na|eu" in out
