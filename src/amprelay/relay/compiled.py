"""A config's compiled form: each destination's settings and compiled subscriptions, and the
sources by write key. What ingest, the inbox processor, the console and ``amprelay preview`` read;
a reload compiles a new one and swaps it in whole (``Relay.swap``)."""

from __future__ import annotations

from dataclasses import dataclass

from amprelay.config import Config, DestinationConfig, SourceConfig, all_subscriptions, resolved_mapping
from amprelay.destination import Settings
from amprelay.engine import CompiledSubscription, Subscription, compile_subscription


@dataclass
class CompiledDestination:
    name: str
    settings: Settings
    subscriptions: list[CompiledSubscription]
    sources: frozenset[str] | None
    stable_insert_id: bool
    config: DestinationConfig


def compile_destination(dest: DestinationConfig) -> CompiledDestination:
    subs = []
    for sub in all_subscriptions(dest):
        subs.append(compile_subscription(
            Subscription(name=sub.name, trigger=sub.trigger, action_key=sub.action,
                         mapping=resolved_mapping(sub), enabled=sub.enabled)))
    return CompiledDestination(
        name=dest.name,
        settings=Settings.from_dict(dest.settings),
        subscriptions=subs,
        sources=frozenset(dest.sources) if dest.sources is not None else None,
        stable_insert_id=dest.stable_insert_id,
        config=dest,
    )


@dataclass(frozen=True)
class CompiledConfig:
    """One config's compiled form: what ingest, the inbox processor and the console read. A
    reload builds a new one and swaps it in whole (see :meth:`Relay.swap`)."""

    config: Config
    destinations: list[CompiledDestination]
    sources_by_key: dict[str, SourceConfig]
    generation: int = 1


def compile_config(config: Config, generation: int = 1) -> CompiledConfig:
    return CompiledConfig(config, [compile_destination(d) for d in config.destinations],
                          {s.write_key.get_secret_value(): s for s in config.sources}, generation)
