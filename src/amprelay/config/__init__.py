"""The config file (``amprelay.yaml``): sources with write keys, Amplitude destination
instances with their subscriptions, the queue, the server and delivery.

Loaded with :func:`load_config`, which validates everything up front and reports each
problem with the file, the line and what is wrong (:class:`ConfigError`).

- :mod:`amprelay.config.models`: the sections as pydantic models;
- :mod:`amprelay.config.loading`: YAML, environment variables, validation;
- :mod:`amprelay.config.checks`: the checks across sections (names, keys, subscriptions, TLS);
- :mod:`amprelay.config.problems`: :class:`ConfigProblem` and :class:`ConfigError`.
"""

from __future__ import annotations

from amprelay.config.checks import all_subscriptions, resolved_mapping, tls_problems
from amprelay.config.loading import (
    ENV_CONFIG_VARIABLES,
    ENV_PATTERN,
    STORAGE_SECTIONS,
    config_from_env,
    config_secrets,
    load_config,
    parse_config,
)
from amprelay.config.models import (
    Config,
    ConsoleConfig,
    DeliveryConfig,
    DestinationConfig,
    IngestConfig,
    LoggingConfig,
    QueueConfig,
    ServerConfig,
    SessionConfig,
    SessionPluginConfig,
    SourceConfig,
    SubscriptionConfig,
)
from amprelay.config.problems import ConfigError, ConfigProblem, LoadedConfig

__all__ = [
    "ENV_CONFIG_VARIABLES",
    "ENV_PATTERN",
    "STORAGE_SECTIONS",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "ConsoleConfig",
    "DeliveryConfig",
    "DestinationConfig",
    "IngestConfig",
    "LoadedConfig",
    "LoggingConfig",
    "QueueConfig",
    "ServerConfig",
    "SessionConfig",
    "SessionPluginConfig",
    "SourceConfig",
    "SubscriptionConfig",
    "all_subscriptions",
    "config_from_env",
    "config_secrets",
    "load_config",
    "parse_config",
    "resolved_mapping",
    "tls_problems",
]
