"""Durable delivery to Amplitude: requests → queue units → batches → answers → ack/retry/DLQ."""

from amprelay.delivery.batcher import Batch, Batcher, Limit
from amprelay.delivery.metrics import Metrics
from amprelay.delivery.responses import Action, Outcome, Verdict, classify
from amprelay.delivery.service import DeliveryService, EnqueueItem
from amprelay.delivery.settings import DeliverySettings
from amprelay.delivery.units import requests_to_units
from amprelay.delivery.worker import DeliveryWorker

__all__ = [
    "Action",
    "Batch",
    "Batcher",
    "DeliveryService",
    "DeliverySettings",
    "DeliveryWorker",
    "EnqueueItem",
    "Limit",
    "Metrics",
    "Outcome",
    "Verdict",
    "classify",
    "requests_to_units",
]
