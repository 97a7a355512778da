"""`amprelay check-auth`: the reference's authentication test. GET usersearch
(``?user=testUser@example.com``) with the API key and secret key as basic auth; 2xx means the
keys are valid."""

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

TEST_USER = "testUser@example.com"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-auth",
        help="check the Amplitude API key and secret key",
        description="Check the Amplitude API key and secret key against Amplitude's User Search API "
        "(basic auth), as Segment's destination does when it is configured. Exits 0 when Amplitude "
        "accepts them, 1 when it does not, 2 when it cannot be reached or the settings are incomplete.",
    )
    add_settings_arguments(p)
    add_config_arguments(p)
    p.add_argument("--amplitude-url", metavar="BASE", help="send to this base URL instead of Amplitude "
                   "(e.g. http://127.0.0.1:9000 for `amprelay fake-amplitude`)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    p.set_defaults(func=run)


def auth_check_url(settings, base_url: str | None = None) -> str:
    from amprelay.destination.endpoints import endpoint_for, rebase_url

    return rebase_url(f"{endpoint_for('usersearch', settings.endpoint)}?user={TEST_USER}", base_url)


def run(args: argparse.Namespace) -> int:
    import httpx

    from amprelay.destination.settings import SettingsError

    try:
        settings, base_url = settings_for(args)
        settings.validate()
    except (SettingsFileError, SettingsError) as exc:
        print(f"check-auth: {exc}", file=sys.stderr)
        return 2
    url = auth_check_url(settings, base_url)
    try:
        response = httpx.get(url, auth=(settings.api_key, settings.secret_key), timeout=args.timeout)
    except httpx.HTTPError as exc:
        print(f"check-auth: cannot reach {url.split('?')[0]}: {exc}", file=sys.stderr)
        return 2
    if 200 <= response.status_code < 300:
        print(f"OK: Amplitude accepted the API key and secret key (region {settings.region}, "
              f"HTTP {response.status_code})")
        return 0
    detail = mask_answer(response.text.strip().replace("\n", " ")[:200])
    reason = "invalid API key or secret key" if response.status_code in (401, 403) else "unexpected answer"
    print(f"FAILED: {reason}: HTTP {response.status_code} from {url.split('?')[0]}"
          + (f": {detail}" if detail else ""), file=sys.stderr)
    return 1
