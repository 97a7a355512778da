"""One exception root: every public exception class amprelay defines derives from AmprelayError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import amprelay
from amprelay.errors import AmprelayError
from amprelay.mapping import MappingValidationError, compile_mapping
from amprelay.triggers import compile_trigger
from amprelay.triggers.trigger import TriggerError


def _modules():
    for info in pkgutil.walk_packages(amprelay.__path__, "amprelay."):
        yield importlib.import_module(info.name)


def test_every_public_exception_derives_from_amprelay_error():
    stray = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for module in _modules()
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and issubclass(cls, BaseException)
        and not cls.__name__.startswith("_") and not issubclass(cls, AmprelayError)
    )
    assert stray == []


def test_message_defaults_to_the_text_and_can_be_set():
    class Custom(AmprelayError):
        pass

    assert Custom("why").message == "why"
    err = Custom("short")
    err.message = "long explanation"
    assert err.message == "long explanation" and str(err) == "short"


def test_trigger_and_mapping_errors_are_amprelay_errors_with_their_message():
    error = compile_trigger("((").error
    assert isinstance(error, AmprelayError) and isinstance(error, ValueError) and isinstance(error, TriggerError)
    assert error.message == "'(' at position 0 is never closed"
    try:
        compile_mapping({"a": {"@path": 1}})
    except AmprelayError as exc:
        assert isinstance(exc, MappingValidationError) and exc.message == str(exc)
    else:
        raise AssertionError("an invalid mapping compiled")
