"""Valid serving-contract objects for tests that need one without exporting a model."""

from __future__ import annotations

from typing import Any

from common.contract import INTERVAL_LEVELS, MAX_FORECAST_STEPS
from common.metadata import VersionMetadata, signature_docs


def interval_tables(width: float = 1.0) -> dict[str, Any]:
    """An ``intervals`` block whose bands widen like a random walk's: +-width * level-ish * sqrt(h)."""
    grow = [(h / 1.0) ** 0.5 for h in range(1, MAX_FORECAST_STEPS + 1)]
    return {
        "levels": list(INTERVAL_LEVELS),
        "method": "test tables",
        "calibrated_horizon": 10,
        "lower": [[-width * (1 + i) * g for g in grow] for i in range(len(INTERVAL_LEVELS))],
        "upper": [[width * (1 + i) * g for g in grow] for i in range(len(INTERVAL_LEVELS))],
    }


def metadata_doc(window: int = 20, **overrides: Any) -> dict[str, Any]:
    """A ``metadata.json`` document that validates, with ``overrides`` applied on top."""
    doc: dict[str, Any] = {
        "model": "aapl",
        "version": 3,
        "ticker": "AAPL",
        "window": window,
        "scaler": {"kind": "MinMaxScaler", "feature_range": [0.0, 1.0], "data_min": 10.0, "data_max": 110.0},
        "data": {"rows": 100, "train_rows": 70, "val_rows": 15, "test_rows": 15},
        "metrics": {"test": {"mae": 1.0, "rmse": 1.5, "mase": 0.99, "mape": 0.8}},
        "intervals": interval_tables(),
        "signatures": {k: v.model_dump() for k, v in signature_docs(window).items()},
        "created_at": "2026-01-02T03:04:05+00:00",
    }
    doc.update(overrides)
    return doc


def version_metadata(window: int = 20, **overrides: Any) -> VersionMetadata:
    return VersionMetadata.model_validate(metadata_doc(window, **overrides))
