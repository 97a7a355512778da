"""Amplitude's regional endpoints, as the reference's ``regional-endpoints.ts``."""

from __future__ import annotations

from typing import Final, Literal
from urllib.parse import urlsplit, urlunsplit

Region = Literal["north_america", "europe"]
EndpointKind = Literal["batch", "deletions", "httpapi", "identify", "groupidentify", "usermap", "usersearch"]

REGIONS: Final = ("north_america", "europe")
DEFAULT_REGION: Final = "north_america"
AMPLITUDE_API_VERSION: Final = "2"

ENDPOINTS: Final[dict[str, dict[str, str]]] = {
    "batch": {
        "north_america": "https://api2.amplitude.com/batch",
        "europe": "https://api.eu.amplitude.com/batch",
    },
    "deletions": {
        "north_america": f"https://amplitude.com/api/{AMPLITUDE_API_VERSION}/deletions/users",
        "europe": f"https://analytics.eu.amplitude.com/api/{AMPLITUDE_API_VERSION}/deletions/users",
    },
    "httpapi": {
        "north_america": f"https://api2.amplitude.com/{AMPLITUDE_API_VERSION}/httpapi",
        "europe": f"https://api.eu.amplitude.com/{AMPLITUDE_API_VERSION}/httpapi",
    },
    "identify": {
        "north_america": "https://api2.amplitude.com/identify",
        "europe": "https://api.eu.amplitude.com/identify",
    },
    "groupidentify": {
        "north_america": "https://api2.amplitude.com/groupidentify",
        "europe": "https://api.eu.amplitude.com/groupidentify",
    },
    "usermap": {
        "north_america": "https://api.amplitude.com/usermap",
        "europe": "https://api.eu.amplitude.com/usermap",
    },
    "usersearch": {
        "north_america": f"https://amplitude.com/api/{AMPLITUDE_API_VERSION}/usersearch",
        "europe": f"https://analytics.eu.amplitude.com/api/{AMPLITUDE_API_VERSION}/usersearch",
    },
}


def endpoint_for(kind: EndpointKind | str, region: object) -> str:
    """The URL of ``kind`` in ``region``; an unknown region falls back to North America."""
    table = ENDPOINTS[kind]
    if isinstance(region, str):
        url = table.get(region)
        if url is not None:
            return url
    return table[DEFAULT_REGION]


def rebase_url(url: str, base_url: str | None) -> str:
    """Send ``url``'s path (and query) to another host, e.g. a local Amplitude stand-in:
    ``rebase_url("https://api2.amplitude.com/2/httpapi", "http://127.0.0.1:9000")`` ->
    ``"http://127.0.0.1:9000/2/httpapi"``. A base with a path prefixes it."""
    if not base_url:
        return url
    target = urlsplit(url)
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + target.path
    return urlunsplit((base.scheme, base.netloc, path, target.query, target.fragment))
