"""Prometheus metrics of the HTTP front: ingest requests by endpoint and status, rejected items
by reason, connections cut by a timeout or refused over the cap. Registered in the relay's
registry (``/metrics``) when it has one."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        r = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.registry = r
        self.requests = Counter("amprelay_ingest_requests", "Ingest requests answered, by endpoint and status",
                                ["endpoint", "status"], registry=r)
        self.rejected = Counter("amprelay_ingest_rejected", "Messages refused at ingest, by reason",
                                ["reason"], registry=r)
        self.connections_cut = Counter(
            "amprelay_connections_closed", "Connections the server closed: header_timeout, body_timeout, "
            "over_limit (the connection cap)", ["reason"], registry=r)


_BY_REGISTRY: dict[int, IngestMetrics] = {}


def ingest_metrics(registry: CollectorRegistry | None) -> IngestMetrics:
    """The ingest metrics in ``registry`` (made once per registry; a private one for None)."""
    if registry is None:
        return IngestMetrics()
    found = _BY_REGISTRY.get(id(registry))
    if found is None or found.registry is not registry:
        found = _BY_REGISTRY[id(registry)] = IngestMetrics(registry)
    return found
