"""`amprelay demo`: the first command a new user runs. Starts the local Amplitude and a relay
(embedded store in a temporary directory, removed at exit), sends a realistic sample of events
through the Segment-compatible ingest API, and prints what Amplitude received, readable in an
80-column terminal."""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="see amprelay work end to end, locally (no account needed)",
                       description="Start a local Amplitude and a relay, send sample events, show the result.")
    p.add_argument("--keep", action="store_true", help="keep running afterwards (Ctrl-C to stop)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    with tempfile.TemporaryDirectory(prefix="amprelay-demo-") as data_dir:
        return _run(args, console, data_dir)


# What the table shows of each record, beside its API, event type and ids (long or repeated
# fields, such as time and insert_id, are left out).
DETAIL_KEYS = ("session_id", "revenue", "price", "quantity", "os_name", "device_model", "platform", "group_type",
               "group_value", "global_user_id")


def record_row(rec: dict[str, Any]) -> tuple[str, str, str, str]:
    """(API, event type or kind, user and device, details): one line per value, so that each
    cell folds rather than widens the table."""
    data = rec.get("data") or {}
    who = "\n".join(_short(str(data[k])) for k in ("user_id", "device_id") if data.get(k))
    details = [f"{key}={data[key]}" for key in DETAIL_KEYS if key in data]
    if isinstance(data.get("user_properties"), dict):
        details.append("user_properties: " + ", ".join(data["user_properties"]))
    return (str(rec.get("path", "")), str(data.get("event_type") or rec.get("kind")), who or "-",
            ", ".join(details))


def _short(device_id: str) -> str:
    return device_id if len(device_id) <= 14 else device_id[:12] + "…"


def _run(args: argparse.Namespace, console: Any, data_dir: str) -> int:
    import httpx
    from rich import box
    from rich.table import Table

    from amprelay.config import parse_config
    from amprelay.demo_events import sample_events
    from amprelay.fakeamp import run_in_thread as run_fake
    from amprelay.wiring import run_in_thread as run_relay

    fake = run_fake(port=0)
    console.print(f"[bold]1.[/] local Amplitude listening on {fake.url}")
    loaded = parse_config(
        f"""
data_dir: {data_dir}
sources:
  - name: demo-site
    write_key: demo-write-key
destinations:
  - name: amplitude
    settings: {{apiKey: demo-api-key-0001, secretKey: demo-secret, endpoint: north_america}}
    presets: true
    subscriptions:
      - name: Group Calls
        trigger: type = "group"
        action: groupIdentifyUser
        mapping:
          defaults: true
          group_type: org
          group_value: {{"@path": "$.groupId"}}
      - name: Alias Calls
        trigger: type = "alias"
        action: mapUser
server: {{port: 0}}
delivery: {{amplitude_url: "{fake.url}", linger_ms: 10}}
""", "<demo>")
    relay = run_relay(loaded.config)
    console.print(f"[bold]2.[/] relay listening on {relay.url} with "
                  f"{sum(len(d.subscriptions) for d in relay.service.relay.destinations)} subscriptions "
                  "(its store: a temporary directory, removed at exit)")
    events = sample_events()
    try:
        with httpx.Client(base_url=relay.url, auth=("demo-write-key", ""), timeout=10) as client:
            r = client.post("/v1/batch", json={"batch": events})
            r.raise_for_status()
        console.print(f"[bold]3.[/] sent {len(events)} events to POST /v1/batch -> {r.status_code} {r.text}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if relay.service.relay.pending() == 0 and fake.events():
                break
            time.sleep(0.1)
        received = fake.events()
        table = Table(title=f"4. Amplitude received {len(received)} records", box=box.SIMPLE_HEAD,
                      title_justify="left", expand=True)
        table.add_column("API", no_wrap=True)
        table.add_column("event type / kind", max_width=18)
        table.add_column("user / device", no_wrap=True)
        table.add_column("details", ratio=1, overflow="fold")
        for rec in received:
            table.add_row(*record_row(rec))
        console.print(table)
        stats = relay.service.relay.queue.stats()
        console.print(f"queue depth {stats.depth}, dead letters {stats.dead_letters}")
        if args.keep:
            console.print(f"Still running: send more with  curl -u demo-write-key: {relay.url}/v1/track "
                          "-H 'content-type: application/json' -d '{\"event\":\"Hi\",\"userId\":\"user-12345\"}'")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return 0 if received else 1
    finally:
        relay.stop()
        fake.stop()
