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


EU_PREFIX: Final = "/eu"


def is_eu_url(url: str) -> bool:
    """Whether ``url`` is on one of Amplitude's EU hosts (api.eu.amplitude.com, analytics.eu.amplitude.com)."""
    host = urlsplit(url).hostname or ""
    return host.endswith(".eu.amplitude.com")


def rebase_url(url: str, base_url: str | None) -> str:
    """Send ``url``'s path (and query) to another host, e.g. a local Amplitude stand-in:
    ``rebase_url("https://api2.amplitude.com/2/httpapi", "http://127.0.0.1:9000")`` ->
    ``"http://127.0.0.1:9000/2/httpapi"``. A base with a path prefixes it. The EU region keeps
    itself under the base as a ``/eu`` prefix (``https://api.eu.amplitude.com/2/httpapi`` ->
    ``http://127.0.0.1:9000/eu/2/httpapi``), which the stand-in records as region ``eu`` and a
    proxy can route to Amplitude's EU hosts."""
    if not base_url:
        return url
    target = urlsplit(url)
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + (EU_PREFIX if is_eu_url(url) else "") + target.path
    return urlunsplit((base.scheme, base.netloc, path, target.query, target.fragment))


def endpoint_base(region: object, base_url: str | None) -> str:
    """Where a destination of ``region`` sends its events (HTTP V2 and Batch APIs): Amplitude's
    host for the region, or its place under ``base_url`` (``delivery.amplitude_url``)."""
    url = endpoint_for("httpapi", region)
    return rebase_url(url, base_url).removesuffix(urlsplit(url).path) or url
