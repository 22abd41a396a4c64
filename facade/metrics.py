"""Prometheus metrics of the facade: one ``Metrics`` per app, label children bound once.

Two modes, chosen by the process environment that prometheus_client itself reads:

- **Single process** (tests, ``FACADE_WORKERS=1``): each app has its own registry,
  so several apps can live in one process, with the default process collector.
- **Multiprocess** (``python -m facade`` with several workers): ``PROMETHEUS_MULTIPROC_DIR``
  is set by the entry point before the workers start; every worker writes its
  values to memory-mapped files there and ``/metrics`` (whichever worker answers)
  aggregates them all. Process metrics (CPU, memory, fds) then come per worker,
  with a ``pid`` label, read from ``/proc`` by the worker that answers the scrape.

Metric names are the monitoring contract: ``monitoring/`` (dashboard, alert
rules) and ``docs/monitoring.md`` use them; change them together.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
STAGES = ("parse", "preprocess", "inference", "postprocess")
# Scaled distance outside the training range [0, 1]: 0 means inside; 1 means a whole training range away.
DRIFT_BUCKETS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
# |first forecast - last price| / last price: a daily close rarely moves more than a few percent.
MOVE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_dir() -> Path | None:
    """The folder the workers share, when the entry point enabled multiprocess mode.

    prometheus_client picks its value class from this variable when it is first
    imported, so the facade reads the same variable rather than a setting of its own.
    """
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


class _Request:
    """The bound children for one (endpoint, status): one dict lookup per request."""

    __slots__ = ("count", "latency")

    def __init__(self, count: Any, latency: Any) -> None:
        self.count = count
        self.latency = latency


class DriftChildren:
    """The bound drift children of one (model, version)."""

    __slots__ = ("bounds", "move", "out_of_range", "outside")

    def __init__(self, outside: Any, out_of_range: Any, move: Any) -> None:
        self.outside = outside
        self.out_of_range = out_of_range
        self.move = move
        # The version's training range (data_min, data_max), cached by the first observation.
        self.bounds: tuple[float, float] | None = None


class Metrics:
    """Every metric of one app, with helpers that keep the per-request cost to a few increments."""

    def __init__(self) -> None:
        self.multiprocess_dir = multiprocess_dir()
        self.registry = CollectorRegistry()
        # In multiprocess mode values live in the shared files; the registry only names them.
        reg = self.registry
        self.requests = Counter("facade_requests", "HTTP requests", ["endpoint", "status"], registry=reg)
        self.latency = Histogram(
            "facade_request_seconds", "Request latency", ["endpoint"], buckets=LATENCY_BUCKETS, registry=reg
        )
        self.stage = Histogram(
            "facade_stage_seconds", "Latency of each forecast stage", ["stage"], buckets=LATENCY_BUCKETS, registry=reg
        )
        self.errors = Counter("facade_errors", "Errors by type", ["type"], registry=reg)
        # livemostrecent: across workers, the value written last by a live worker wins (a roll shows at once).
        self.version_served = Gauge(
            "facade_model_version_served",
            "Version that answered the last request of each model",
            ["model"],
            registry=reg,
            multiprocess_mode="livemostrecent",
        )
        self.versions_available = Gauge(
            "facade_model_versions_available",
            "Versions of each known model available on the backend (at scrape time)",
            ["model"],
            registry=reg,
            multiprocess_mode="livemostrecent",
        )
        self.backend_up = Gauge(
            "facade_backend_up",
            "1 when the backend is reachable (at scrape time)",
            registry=reg,
            multiprocess_mode="livemostrecent",
        )
        self.key_store_up = Gauge(
            "facade_key_store_up",
            "1 when the API-key database answers (at scrape time)",
            registry=reg,
            multiprocess_mode="livemostrecent",
        )
        self.drift_outside = Histogram(
            "facade_drift_window_outside",
            "How far a request's window lies outside the version's training range (scaled units; 0 = inside)",
            ["model", "version"],
            buckets=DRIFT_BUCKETS,
            registry=reg,
        )
        self.drift_out_of_range = Counter(
            "facade_drift_out_of_range_requests",
            "Requests whose window has a price outside the version's training range",
            ["model", "version"],
            registry=reg,
        )
        self.forecast_move = Histogram(
            "facade_forecast_move_ratio",
            "|first forecast - last price| / last price",
            ["model", "version"],
            buckets=MOVE_BUCKETS,
            registry=reg,
        )
        if self.multiprocess_dir is None:
            ProcessCollector(registry=reg)
        self.stages = {name: self.stage.labels(name) for name in STAGES}
        self._requests: dict[tuple[str, int], _Request] = {}
        self._drift: dict[tuple[str, int], DriftChildren] = {}
        self._served: dict[str, int] = {}

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        """Counts one finished request and its latency."""
        key = (endpoint, status)
        children = self._requests.get(key)
        if children is None:
            children = _Request(self.requests.labels(endpoint, str(status)), self.latency.labels(endpoint))
            self._requests[key] = children
        children.count.inc()
        children.latency.observe(seconds)

    def served(self, model: str, version: int) -> None:
        """Records the version that answered; the gauge is written only when it changes."""
        if self._served.get(model) != version:
            self._served[model] = version
            self.version_served.labels(model).set(version)

    def drift(self, model: str, version: int) -> DriftChildren:
        """The drift children of one version, created on its first request."""
        key = (model, version)
        children = self._drift.get(key)
        if children is None:
            labels = (model, str(version))
            children = DriftChildren(
                self.drift_outside.labels(*labels),
                self.drift_out_of_range.labels(*labels),
                self.forecast_move.labels(*labels),
            )
            self._drift[key] = children
        return children

    def exposition(self, *, backend_up: bool, key_store_up: bool, available: dict[str, int]) -> bytes:
        """The text for ``/metrics``: scrape-time gauges set, then every worker's values."""
        self.backend_up.set(1 if backend_up else 0)
        self.key_store_up.set(1 if key_store_up else 0)
        for model, count in available.items():
            self.versions_available.labels(model).set(count)
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self.multiprocess_dir))
        registry.register(WorkerProcesses(self.multiprocess_dir))
        return generate_latest(registry)

    def close(self) -> None:
        """Marks this worker dead in multiprocess mode, so its live gauges stop counting."""
        if self.multiprocess_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), str(self.multiprocess_dir))


def _worker_pids(folder: Path) -> list[int]:
    """Live processes that wrote metrics to ``folder`` (files are named ``<kind>_<pid>.db``)."""
    pids: set[int] = set()
    for path in folder.glob("*.db"):
        tail = path.stem.rpartition("_")[2]
        if tail.isdigit():
            pids.add(int(tail))
    return sorted(pid for pid in pids if Path(f"/proc/{pid}").exists())


class WorkerProcesses(Collector):
    """The default process metrics of every live worker, each with a ``pid`` label.

    prometheus_client's multiprocess mode drops custom collectors, the process
    collector included; this reads each worker's ``/proc/<pid>`` instead.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        for pid in _worker_pids(self.folder):
            collector = ProcessCollector(pid=lambda pid=pid: pid, registry=None)  # type: ignore[misc]
            for family in collector.collect():
                out = merged.get(family.name)
                if out is None:
                    out = Metric(family.name, family.documentation, family.type)
                    merged[family.name] = out
                for sample in family.samples:
                    out.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        yield from merged.values()

    def describe(self) -> Iterator[Metric]:
        return iter(())
