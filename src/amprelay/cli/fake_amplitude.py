"""``amprelay fake-amplitude``: the stand-in's own command (:mod:`amprelay.fakeamp.command`),
registered here so that the stand-in does not import the CLI."""

from amprelay.fakeamp.command import register

__all__ = ["register"]
