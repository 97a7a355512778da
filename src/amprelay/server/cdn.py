"""analytics.js's CDN settings, served by the relay: ``GET /v1/projects/<writeKey>/settings``.

analytics.js 2.0 (@segment/analytics-next) loaded with ``cdnURL`` pointing at the relay fetches
``<cdnURL>/v1/projects/<writeKey>/settings``, sends its events to
``integrations["Segment.io"].apiHost`` and loads every entry of ``remotePlugins``: here the
relay's Amplitude session plugin with the source's settings. A page then needs only its write key
and the relay's URL, as with Segment's own CDN.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from amprelay.config import SourceConfig

SETTINGS_PATH = "/v1/projects/{write_key}/settings"
PLUGIN_PATH = "/plugins/amplitude-session.js"
PLUGIN_LIBRARY = "amprelayAmplitudeSessionDestination"  # the global the plugin's script defines
HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def public_base(request: Request, public_url: str | None) -> str | None:
    """The relay's URL as the client sees it: the configured one, else the request's scheme and
    Host (uvicorn sets the scheme to https under TLS, or from X-Forwarded-Proto of a trusted
    proxy). None when the Host header is not a host name or address."""
    if public_url:
        return public_url.rstrip("/")
    host = request.headers.get("host", "")
    if not HOST.match(host):
        return None
    return f"{request.url.scheme}://{host}"


def cdn_settings(write_key: str, source: SourceConfig, base: str) -> dict[str, Any]:
    """The settings analytics.js reads, for one source."""
    protocol, host = base.split("://", 1)
    plugins = []
    plugin = source.session_plugin
    if plugin.enabled:
        plugins.append({
            "name": "Amplitude (Actions)",
            "creationName": "Actions Amplitude",  # integrations: {"Actions Amplitude": false} turns it off
            "libraryName": PLUGIN_LIBRARY,
            "url": base + PLUGIN_PATH,
            "settings": plugin.plugin_settings(),
        })
    return {
        # one integration only: more would make analytics.js load Segment's classic destinations
        "integrations": {"Segment.io": {"apiKey": write_key, "apiHost": host + "/v1", "protocol": protocol}},
        "remotePlugins": plugins,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "legacyVideoPluginsEnabled": False,
        "metrics": {"sampleRate": 0},  # analytics.js's own metrics would go to Segment
    }


def settings_routes(source_for_key: Callable[[str], SourceConfig | None],
                    configured_public_url: Callable[[], str | None]) -> list[Route]:
    """The settings route; ``configured_public_url`` reads ``server.public_url`` of the running config."""

    async def settings(request: Request) -> Response:
        write_key = request.path_params["write_key"]
        source = source_for_key(write_key)
        if source is None:
            body = {"success": False, "code": "invalid_write_key", "message": "the write key is not valid for any source"}
            return Response(orjson.dumps(body), status_code=404, media_type="application/json")
        base = public_base(request, configured_public_url())
        if base is None:
            body = {"success": False, "code": "bad_host", "message": "the Host header is not a host name"}
            return Response(orjson.dumps(body), status_code=400, media_type="application/json")
        body = cdn_settings(write_key, source, base)
        return Response(orjson.dumps(body), media_type="application/json",
                        headers={"Cache-Control": "public, max-age=60", "Vary": "Host"})

    return [Route(SETTINGS_PATH, settings, methods=["GET"])]
