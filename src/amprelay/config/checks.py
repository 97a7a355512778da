"""The checks across a validated config's sections: unique names and write keys, destination
settings and secrets, subscriptions' actions, triggers and mappings, TLS files."""

from __future__ import annotations

import os
from collections.abc import Set as AbstractSet
from typing import Any

from amprelay.config.models import Config, DestinationConfig, SubscriptionConfig
from amprelay.config.problems import ConfigProblem, dotted
from amprelay.yamlpos import line_of


def resolved_mapping(sub: SubscriptionConfig) -> dict[str, Any] | None:
    """The complete mapping of a subscription (`defaults: true` merged with the overrides)."""
    from amprelay.destination import ACTIONS
    from amprelay.fields import default_mapping

    if sub.mapping is None:
        return None
    if sub.mapping.get("defaults") is True:
        base = dict(default_mapping(ACTIONS[sub.action].fields))
        base.update({k: v for k, v in sub.mapping.items() if k != "defaults"})
        return base
    return sub.mapping


def all_subscriptions(dest: DestinationConfig) -> list[SubscriptionConfig]:
    """The destination's subscriptions, with the page's presets first when `presets: true`."""
    from amprelay.destination import PRESETS

    subs: list[SubscriptionConfig] = []
    if dest.presets:
        for preset in PRESETS:
            subs.append(
                SubscriptionConfig(name=preset.name, trigger=preset.subscribe, action=preset.action, mapping=preset.mapping)
            )
    subs.extend(dest.subscriptions)
    return subs


def tls_problems(cert: str | None, key: str | None) -> list[tuple[str, str]]:
    """What is wrong with a TLS certificate/key pair, as (setting, message); [] when fine or unset."""
    import ssl

    if cert is None and key is None:
        return []
    if cert is None or key is None:
        missing = "tls_cert" if cert is None else "tls_key"
        return [(missing, "tls_cert and tls_key go together: set both to serve HTTPS")]
    for name, path in (("tls_cert", cert), ("tls_key", key)):
        if not os.access(path, os.R_OK):
            return [(name, f"cannot read {path}")]
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as exc:
        return [("tls_cert", f"not a usable PEM certificate and private key pair ({exc})")]
    return []


def check_semantics(config: Config, file: str, lines: dict, warnings: list[str], unset: AbstractSet[tuple[Any, ...]] = frozenset(),
                     secrets: bool = True) -> list[ConfigProblem]:
    from amprelay.destination import ACTIONS, MAX_SUBSCRIPTIONS
    from amprelay.destination.settings import SETTINGS_FIELDS
    from amprelay.lint import did_you_mean, mapping_problems, trigger_warnings
    from amprelay.mapping import MappingValidationError, validate_mapping
    from amprelay.triggers import compile_trigger

    problems: list[ConfigProblem] = []

    def add(path: tuple, message: str) -> None:
        if path in unset:  # already reported: the environment variable it names is not set
            return
        problems.append(ConfigProblem(file, line_of(lines, path), dotted(path), message))

    names = [s.name for s in config.sources]
    for i, name in enumerate(names):
        if names.index(name) != i:
            add(("sources", i, "name"), f"duplicate source name {name!r}")
    keys = [s.write_key.get_secret_value() for s in config.sources]
    for i, key in enumerate(keys):
        if not key:
            if secrets:
                add(("sources", i, "write_key"), "the write key is empty")
        elif keys.index(key) != i:
            add(("sources", i, "write_key"), "two sources share one write key")

    problems.extend(ConfigProblem(file, line_of(lines, ("server", key)), f"server.{key}", message)
                    for key, message in tls_problems(config.server.tls_cert, config.server.tls_key))

    dest_names = [d.name for d in config.destinations]
    for di, dest in enumerate(config.destinations):
        base = ("destinations", di)
        if dest_names.index(dest.name) != di:
            add(base + ("name",), f"duplicate destination name {dest.name!r}")
        for key in dest.settings:
            if key not in SETTINGS_FIELDS:
                add(base + ("settings", key), f"unknown setting {key!r}{did_you_mean(key, SETTINGS_FIELDS)}; the "
                    f"settings are {', '.join(SETTINGS_FIELDS)}")
        for key in ("apiKey", "secretKey"):
            if not dest.settings.get(key) and secrets:
                add(base + ("settings", key), f"missing secret: settings.{key} is required")
        region = dest.settings.get("endpoint", "north_america")
        if region not in ("north_america", "europe"):
            add(base + ("settings", "endpoint"), f"endpoint must be 'north_america' or 'europe', not {region!r}")
        for src in dest.sources or []:
            if src not in names:
                add(base + ("sources",), f"unknown source {src!r}")
        subs = all_subscriptions(dest)
        if len(subs) > MAX_SUBSCRIPTIONS:
            add(base + ("subscriptions",),
                f"{len(subs)} subscriptions (presets included); a destination accepts at most {MAX_SUBSCRIPTIONS}")
        for si, sub in enumerate(dest.subscriptions):
            spath = base + ("subscriptions", si)
            if sub.action not in ACTIONS:
                add(spath + ("action",), f"unknown action {sub.action!r}; one of: {', '.join(sorted(ACTIONS))}")
                continue
            trig = compile_trigger(sub.trigger)
            if trig.error is not None:
                add(spath + ("trigger",), f"invalid trigger: {getattr(trig.error, 'message', trig.error)}")
            for w in trigger_warnings(sub.trigger):
                where = line_of(lines, spath + ("trigger",))
                warnings.append(f"{file}:{where} ({dotted(spath + ('trigger',))}): {w}")
            for key, message in mapping_problems(sub.action, sub.mapping):
                add(spath + ("mapping", key), message)
            try:
                mapping = resolved_mapping(sub)
                if mapping is not None:
                    validate_mapping(mapping)
            except MappingValidationError as exc:
                add(spath + ("mapping",), f"invalid mapping: {exc}")
    return problems
