"""HTTP to Amplitude: one pooled ``httpx.AsyncClient`` per delivery service."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from amprelay.destination.endpoints import rebase_url


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None  # None: no HTTP answer
    body: bytes = b""
    error: str | None = None  # transport error text when status is None


def target_url(url: str, base_override: str | None) -> str:
    """The action's URL, or its path on ``base_override`` (the local Amplitude, a proxy; the EU
    region under ``/eu``: see :func:`amprelay.destination.endpoints.rebase_url`)."""
    return rebase_url(url, base_override)


class Sender:
    def __init__(self, *, timeout: float = 30.0, max_connections: int = 16,
                 transport: httpx.AsyncBaseTransport | None = None):
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            headers={"User-Agent": "amprelay"},
        )

    async def post(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            res = await self._client.request(method, url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            return Answer(None, b"", f"timeout ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return Answer(None, b"", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        except OSError as exc:
            return Answer(None, b"", f"{type(exc).__name__}: {exc}")
        return Answer(res.status_code, res.content)

    async def aclose(self) -> None:
        await self._client.aclose()
