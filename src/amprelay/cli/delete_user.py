"""`amprelay delete-user USER_ID...`: ask Amplitude to delete users (the reference's ``onDelete``:
POST the Deletions API with basic auth, ``{"user_ids": [id], "requester": "segment"}``, one request
per user)."""

from __future__ import annotations

import argparse
import sys

from amprelay.cli._amplitude import (
    SettingsFileError,
    add_config_arguments,
    add_settings_arguments,
    settings_for,
)
from amprelay.masking import mask_answer

REQUESTER = "segment"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "delete-user",
        help="ask Amplitude to delete users (Deletions API)",
        description="Request the deletion of users from Amplitude, one request per user id, as Segment's "
        "destination does for a deletion request. Exits 0 when every request was accepted, 1 otherwise "
        "(2 when the settings are incomplete).",
    )
    p.add_argument("user_ids", nargs="+", metavar="USER_ID")
    add_settings_arguments(p)
    add_config_arguments(p)
    p.add_argument("--amplitude-url", metavar="BASE", help="send to this base URL instead of Amplitude")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.set_defaults(func=run)


def deletion_body(user_id: str) -> dict:
    return {"user_ids": [user_id], "requester": REQUESTER}


def run(args: argparse.Namespace) -> int:
    import httpx

    from amprelay.destination.endpoints import endpoint_for, rebase_url
    from amprelay.destination.request import to_json_bytes
    from amprelay.destination.settings import SettingsError

    try:
        settings, base_url = settings_for(args)
        settings.validate()
    except (SettingsFileError, SettingsError) as exc:
        print(f"delete-user: {exc}", file=sys.stderr)
        return 2
    url = rebase_url(endpoint_for("deletions", settings.endpoint), base_url)
    failures = 0
    with httpx.Client(auth=(settings.api_key, settings.secret_key), timeout=args.timeout) as client:
        for user_id in args.user_ids:
            try:
                response = client.post(url, content=to_json_bytes(deletion_body(user_id)),
                                       headers={"content-type": "application/json"})
            except httpx.HTTPError as exc:
                print(f"FAILED {user_id}: cannot reach {url}: {exc}", file=sys.stderr)
                failures += 1
                continue
            if 200 <= response.status_code < 300:
                print(f"OK {user_id}: deletion requested (HTTP {response.status_code})")
            else:
                detail = mask_answer(response.text.strip().replace("\n", " ")[:200])
                print(f"FAILED {user_id}: HTTP {response.status_code}" + (f": {detail}" if detail else ""),
                      file=sys.stderr)
                failures += 1
    if len(args.user_ids) > 1:
        print(f"{len(args.user_ids) - failures}/{len(args.user_ids)} deletion requests accepted")
    return 1 if failures else 0
