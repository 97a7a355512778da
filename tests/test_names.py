"""Public names are unique: a name exported (``__all__``) by two amprelay modules is the same
object in both (a re-export), never two different classes or functions of one name."""

from __future__ import annotations

import importlib
import pkgutil

import amprelay


def _exports() -> dict[str, dict[int, list[str]]]:
    """name -> id of the exported object -> the modules exporting it."""
    found: dict[str, dict[int, list[str]]] = {}
    for info in pkgutil.walk_packages(amprelay.__path__, "amprelay."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            found.setdefault(name, {}).setdefault(id(getattr(module, name)), []).append(info.name)
    return found


def test_every_exported_name_exists():
    for info in pkgutil.walk_packages(amprelay.__path__, "amprelay."):
        module = importlib.import_module(info.name)
        missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
        assert not missing, f"{info.name}.__all__ names what it does not define: {missing}"


def test_no_public_name_is_two_different_objects():
    clashes = {name: sorted(mods for mods in by_object.values())
               for name, by_object in _exports().items() if len(by_object) > 1}
    assert clashes == {}


def test_the_queue_route_is_not_named_like_starlettes():
    exports = _exports()
    assert "Route" not in exports
    assert list(exports["UnitRoute"].values()) == [["amprelay.store"]]
