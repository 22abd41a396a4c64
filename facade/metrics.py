"""Prometheus metrics, one registry per app (so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("facade_requests", "HTTP requests", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram(
            "facade_request_seconds", "Request latency", ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.stage = Histogram(
            "facade_stage_seconds", "Latency of each forecast stage", ["stage"], buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )  # fmt: skip
        self.errors = Counter("facade_errors", "Errors by type", ["type"], registry=self.registry)
        self.version_served = Gauge(
            "facade_model_version_served", "Version that answered the last request", ["model"], registry=self.registry
        )
        self.backend_up = Gauge("facade_backend_up", "1 when the backend is reachable", registry=self.registry)
