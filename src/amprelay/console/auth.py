"""Who may use the console: one admin token, a signed login cookie, CSRF tokens for POSTs.

* The token comes from ``console.admin_token`` in the config, else ``AMPRELAY_ADMIN_TOKEN``.
  Without one the console is off (every page answers 403 and says how to turn it on).
* Logging in with the token sets ``amprelay_console``: ``<issued>.<HMAC(token, issued)>``, HttpOnly,
  SameSite=Strict, valid ``session_hours``. Changing the token logs everyone out.
* Scripts may send ``Authorization: Bearer <token>`` instead of the cookie.
* Every state-changing request is a POST carrying ``csrf`` = HMAC(token, cookie) in its form; a
  POST whose Origin header names another site is refused as well.
* Unless ``console.allow_remote``, only clients on the loopback interface are served.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

COOKIE = "amprelay_console"
ENV_TOKEN = "AMPRELAY_ADMIN_TOKEN"


def resolve_token(configured: str | None, environ: dict[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    token = configured or env.get(ENV_TOKEN) or None
    return token


def _sign(token: str, text: str) -> str:
    return hmac.new(token.encode(), text.encode(), hashlib.sha256).hexdigest()


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(frozen=True)
class ConsoleAuth:
    token: str | None
    allow_remote: bool = False
    session_seconds: float = 12 * 3600

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    # --- the login cookie ----------------------------------------------------------------------
    def new_session(self, now: float | None = None) -> str:
        assert self.token
        issued = str(int(time.time() if now is None else now))
        return f"{issued}.{_sign(self.token, 'session:' + issued)}"

    def session_valid(self, value: str | None, now: float | None = None) -> bool:
        if not self.token or not value or "." not in value:
            return False
        issued, sig = value.split(".", 1)
        if not issued.isdigit() or not hmac.compare_digest(sig, _sign(self.token, "session:" + issued)):
            return False
        age = (time.time() if now is None else now) - int(issued)
        return -60 <= age < self.session_seconds

    def token_matches(self, given: str | None) -> bool:
        if not self.token or given is None:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())

    # --- requests ------------------------------------------------------------------------------
    def client_allowed(self, request: Request) -> bool:
        if self.allow_remote:
            return True
        return request.client is not None and is_loopback(request.client.host)

    def bearer(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    def logged_in(self, request: Request) -> bool:
        return self.bearer(request) or self.session_valid(request.cookies.get(COOKIE))

    def csrf_token(self, request: Request) -> str:
        """The token a page's forms carry (tied to this login)."""
        if not self.token:
            return ""
        return _sign(self.token, "csrf:" + (request.cookies.get(COOKIE) or ""))

    def csrf_ok(self, request: Request, form_value: str | None) -> bool:
        if self.bearer(request):  # a browser never sends this header by itself
            return True
        if not same_origin(request):
            return False
        return form_value is not None and hmac.compare_digest(form_value, self.csrf_token(request))


def same_origin(request: Request) -> bool:
    """False when the request says it comes from a page of another origin."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin != "null"
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    return parts.netloc == host
