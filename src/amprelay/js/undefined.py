"""JavaScript's ``undefined``: the one sentinel every package uses (JSON ``null`` is ``None``)."""

from __future__ import annotations

from typing import Final

__all__ = ["UNDEFINED", "Undefined"]


class Undefined:
    """The JS ``undefined`` value: a falsy singleton that survives pickling."""

    __slots__ = ()
    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = Undefined()
