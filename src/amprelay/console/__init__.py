"""The web console at ``/console``: overview, subscriptions, event tester, live events, dead
letters. Served by `amprelay serve` behind an admin token (see :mod:`amprelay.console.auth`)."""

from amprelay.console.activity import Activity
from amprelay.console.auth import ConsoleAuth, resolve_token
from amprelay.console.views import Console

__all__ = ["Activity", "Console", "ConsoleAuth", "resolve_token"]
