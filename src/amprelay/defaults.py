"""Defaults declared once for two readers: the config file's model (``amprelay.config``) and the
code that also runs without a config (``amprelay.delivery``, ``amprelay.store``). Both import
them from here, below both in the import layers."""

from __future__ import annotations

# delivery (``delivery:`` in the config; ``amprelay.delivery.DeliverySettings``)
MAX_AGE_SECONDS = 24 * 3600.0  # past it, undeliverable units go to the dead-letter store
LINGER_MS = 50.0  # wait this long for a fuller batch
BATCH_WAIT_MS = 20.0  # a partial round waits this long (at most linger_ms) for the rounds in flight
CONCURRENCY = 4  # rounds in flight
TIMEOUT_SECONDS = 30.0
FAILURE_WARNING_SECONDS = 60.0  # a destination failing this long logs a warning
FAILURE_REPEAT_SECONDS = 60.0  # ... repeated at most this often while it lasts

# the store (``queue:``)
BUCKET_LEASE_SECONDS = 10.0  # PostgreSQL: how long a dead relay keeps its partitions
VACUUM_UNITS = 20_000  # PostgreSQL: a relay vacuums the units table every so many units it deleted
