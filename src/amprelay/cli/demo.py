"""`amprelay demo`: the first command a new user runs. Starts the local Amplitude and a relay
(embedded store in a temporary directory), sends a realistic sample of events through the
Segment-compatible ingest API, and prints what Amplitude received."""

from __future__ import annotations

import argparse
import tempfile
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="see amprelay work end to end, locally (no account needed)",
                       description="Start a local Amplitude and a relay, send sample events, show the result.")
    p.add_argument("--keep", action="store_true", help="keep running afterwards (Ctrl-C to stop)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import httpx
    from rich.console import Console
    from rich.table import Table

    from amprelay.config import parse_config
    from amprelay.demo_events import sample_events
    from amprelay.fakeamp import run_in_thread as run_fake
    from amprelay.relay.service import run_in_thread as run_relay

    console = Console()
    data_dir = tempfile.mkdtemp(prefix="amprelay-demo-")
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
    console.print(f"[bold]2.[/] relay listening on {relay.url} (embedded store in {data_dir}), "
                  f"{sum(len(d.subscriptions) for d in relay.service.relay.destinations)} subscriptions")
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
        table = Table(title=f"4. Amplitude received {len(received)} records")
        for col in ("API", "event_type / kind", "user_id", "device_id", "details"):
            table.add_column(col)
        for rec in received:
            data = rec.get("data") or {}
            details = []
            for key in ("session_id", "time", "revenue", "os_name", "device_model", "platform", "library",
                        "group_type", "group_value", "global_user_id", "insert_id"):
                if key in data:
                    details.append(f"{key}={data[key]}")
            if "user_properties" in data:
                details.append(f"user_properties={list(data['user_properties'])}")
            table.add_row(rec.get("path", ""), str(data.get("event_type") or rec.get("kind")),
                          str(data.get("user_id", "")), str(data.get("device_id", "")), ", ".join(details))
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
