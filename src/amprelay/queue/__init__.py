"""Old name of :mod:`amprelay.store` (``amprelay.queue``, ``amprelay.queue.base``, ``.sqlite``,
``.postgres``, ``.groupcommit`` keep importing)."""

from __future__ import annotations

import importlib
import sys

from amprelay.store import *  # noqa: F403
from amprelay.store import __all__  # noqa: F401

for _name in ("base", "groupcommit", "sqlite"):
    sys.modules[f"{__name__}.{_name}"] = importlib.import_module(f"amprelay.store.{_name}")


def __getattr__(name: str):
    if name == "postgres":  # psycopg is imported only when asked for
        module = importlib.import_module("amprelay.store.postgres")
        sys.modules[f"{__name__}.postgres"] = module
        return module
    raise AttributeError(name)
