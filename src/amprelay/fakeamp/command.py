"""The stand-in's command line, shared by ``amprelay fake-amplitude`` and ``python -m amprelay.fakeamp``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from amprelay.argtypes import port_number

HELP = "run a local fake Amplitude (HTTP V2, Batch, Identify, Group Identify, usermap, deletions, usersearch)"

DESCRIPTION = """\
A real HTTP server implementing Amplitude's documented contract for /2/httpapi, /batch, /identify,
/groupidentify, /usermap, /api/2/deletions/users and /api/2/usersearch, with fault injection.
Every API is served on one host:port; prefix a path with /eu (or send a Host naming an .eu. host)
for the EU region.

control endpoints (on the same host:port):
  GET  /_fake/health   {"status": "ok"} once listening
  GET  /_fake/events   the accepted records, oldest first; filters (query): since=SEQ, limit=N,
                       path=/2/httpapi, api_key=KEY, region=na|eu, kind=event|identification|
                       group_identification|mapping|deletion
  GET  /_fake/stats    requests per path and status, events received and accepted, duplicates
  POST /_fake/reset    forget every record and counter
  GET  /_fake/config   the fault settings in force
  POST /_fake/config   change them: a JSON object of the flags below, e.g. {"error_rate": 0.1}
                       (names with underscores)
"""

# Settings that map 1:1 onto FaultConfig fields (flag = field name with dashes).
_FAULT_FIELDS = (
    "error_rate",
    "error_statuses",
    "seed",
    "drop_rate",
    "drop_mode",
    "latency_ms",
    "fail_next",
    "fail_status",
    "drop_next",
    "eps_limit",
    "eps_window_s",
    "daily_limit",
    "max_body_bytes",
    "max_events_per_request",
    "valid_api_keys",
    "invalid_api_keys",
    "secret_keys",
    "silenced_devices",
    "max_records",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=9009, help="port (default 9009; 0 = any free port)")
    parser.add_argument("--record", metavar="FILE", help="append accepted records to FILE as JSONL")
    parser.add_argument("--ready-file", metavar="FILE", help="write the base URL to FILE once listening")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    faults = parser.add_argument_group("fault injection and limits")
    faults.add_argument("--error-rate", type=float, help="share of requests answered 5xx (0..1)")
    faults.add_argument(
        "--error-statuses", type=int, nargs="+", metavar="CODE", help="5xx codes to pick from (500 502 503 504)"
    )
    faults.add_argument("--seed", type=int, help="random seed for --error-rate/--drop-rate")
    faults.add_argument("--drop-rate", type=float, help="share of requests whose connection is closed unanswered")
    faults.add_argument(
        "--drop-mode",
        choices=("before", "after"),
        help="drop before handling (nothing recorded) or after (recorded, answer lost)",
    )
    faults.add_argument("--latency-ms", type=float, help="delay added to every ingest answer")
    faults.add_argument("--fail-next", type=int, help="answer the next N ingest requests with --fail-status")
    faults.add_argument("--fail-status", type=int, help="status for --fail-next (default 503)")
    faults.add_argument("--drop-next", type=int, help="drop the next N ingest requests")
    faults.add_argument("--eps-limit", type=int, help="events per second per device_id/user_id before 429")
    faults.add_argument(
        "--eps-window-s", "--eps-window", type=float, dest="eps_window_s", help="rate window in seconds (default 1)"
    )
    faults.add_argument("--daily-limit", type=int, help="events per device/user before 429 exceeded_daily_quota")
    faults.add_argument(
        "--max-body-bytes", type=int, help="413 above this size for every API (default: 1 MB, 20 MB for /batch; 0 = no limit)"
    )
    faults.add_argument("--max-events-per-request", type=int, help="413 above this many events (default 2000; 0 = no limit)")
    faults.add_argument(
        "--valid-api-keys", "--valid-api-key", nargs="+", metavar="KEY", dest="valid_api_keys",
        help="accept only these API keys",
    )
    faults.add_argument(
        "--invalid-api-keys", "--invalid-api-key", nargs="+", metavar="KEY", dest="invalid_api_keys",
        help="answer 400 'Invalid API key: KEY' for these keys",
    )
    faults.add_argument(
        "--secret-keys", "--secret-key", nargs="+", metavar="SECRET", dest="secret_keys",
        help="secrets accepted by basic-auth APIs (default: any non-empty secret)",
    )
    faults.add_argument(
        "--silenced-devices", nargs="+", metavar="DEVICE_ID", help="answer 400 'Events silenced for device_id'"
    )
    faults.add_argument("--max-records", type=int, help="records kept in memory (default 1,000,000)")


def faults_from_args(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _FAULT_FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            out[name] = value
    return out


def run(args: argparse.Namespace) -> int:
    from amprelay.fakeamp.config import make_config
    from amprelay.fakeamp.runner import serve

    try:
        config = make_config(**faults_from_args(args))
    except ValueError as exc:
        print(f"amprelay fake-amplitude: {exc}", file=sys.stderr)
        return 2
    serve(
        host=args.host,
        port=args.port,
        config=config,
        record_path=args.record,
        ready_file=args.ready_file,
        log_level=args.log_level,
    )
    return 0


def build_parser(prog: str = "amprelay fake-amplitude") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fake-amplitude", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
