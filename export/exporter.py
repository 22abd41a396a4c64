"""From a training run folder to a published TF Serving model version."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.contract import (
    ASSETS_EXTRA,
    MAX_FORECAST_STEPS,
    RUN_FILES,
    RUN_METRICS_FILE,
    RUN_SCALER_FILE,
    SCALER_FILE,
    metadata_asset_path,
    metadata_path,
    warmup_path,
)
from common.metadata import (
    DataInfo,
    Intervals,
    LibraryVersions,
    RepublishedFrom,
    ScalerParams,
    VersionMetadata,
    VersionMetrics,
    read_metadata,
    signature_docs,
)
from common.naming import model_name
from export.versions import publish

logger = logging.getLogger(__name__)


class ExportError(RuntimeError):
    """A run folder that cannot be exported, with the reason."""


def read_run(run_dir: Path) -> dict[str, Any]:
    """Checks a run folder and returns its metrics."""
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise ExportError(f"{run_dir} is not a training run folder (missing {', '.join(missing)})")
    metrics: dict[str, Any] = json.loads((run_dir / RUN_METRICS_FILE).read_text())
    return metrics


def latest_run(runs_dir: Path, model: str) -> Path:
    """The newest run folder of a model under ``runs/<model>/``."""
    candidates = sorted(p for p in (runs_dir / model).glob("*") if (p / RUN_METRICS_FILE).is_file())
    if not candidates:
        raise ExportError(f"no training run for {model!r} under {runs_dir}; train one first")
    return candidates[-1]


def serving_clone(trained: Any) -> Any:
    """The trained network for serving: the same layers and weights, each LSTM one fused op.

    Cloned from the trained model itself, so every layer keeps the configuration
    it was trained with; each ``keras.layers.LSTM`` becomes a
    :class:`export.fused_lstm.FusedLSTM` that computes the same function in one
    ``BlockLSTMV2`` node instead of a loop over the window. The outputs agree
    with the trained model's to float32 rounding.

    Raises:
        ExportError: an LSTM the fused op cannot compute (another activation, peepholes, ...).
    """
    import keras

    from export.fused_lstm import FusedLSTM, check_fusable

    try:
        check_fusable(trained)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc

    def clone(layer: Any) -> Any:
        if isinstance(layer, keras.layers.LSTM):
            return FusedLSTM(layer.units, return_sequences=layer.return_sequences, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    served = keras.models.clone_model(trained, clone_function=clone)
    served.set_weights(trained.get_weights())
    return served


def build_metadata(run_dir: Path, metrics: dict[str, Any], *, model: str, version: int) -> VersionMetadata:
    """The version's self-description, read by the model servers, the facade and operators."""
    from training.artifacts import library_versions

    window = int(metrics["config"]["window"])
    return VersionMetadata(
        model=model,
        version=version,
        ticker=metrics["ticker"],
        window=window,
        scaler=ScalerParams.model_validate(metrics["scaler"]),
        data=DataInfo.model_validate(metrics["data"]),
        metrics=VersionMetrics.model_validate({"test": metrics["test"], "horizons": metrics["horizons"]}),
        intervals=Intervals.model_validate(metrics["intervals"]),
        training_config=metrics["config"],
        signatures=signature_docs(window),
        max_forecast_steps=MAX_FORECAST_STEPS,
        source_run=str(run_dir),
        created_at=datetime.now(UTC).replace(microsecond=0),
        versions=LibraryVersions(training=metrics.get("versions", {}), export=library_versions()),
    )


def export_run(run_dir: Path, models_dir: Path, *, model: str | None = None, version: int | None = None) -> Path:
    """Exports a run as the next version of its model and publishes it atomically.

    Args:
        run_dir: a training run folder (``modelo_lstm.h5``, ``scaler.pkl``, ``metrics.json``).
        models_dir: the model base folder TF Serving watches (``models/``).
        model: serving name; derived from the run's ticker by default.
        version: the version number; the next free one by default.

    Returns:
        The published folder ``models_dir/<model>/<N>``.
    """
    from export.savedmodel import write_savedmodel
    from export.warmup import write_warmup
    from training.artifacts import load_model

    metrics = read_run(run_dir)
    name = model or model_name(metrics["ticker"])
    keras_model = serving_clone(load_model(run_dir))

    def build(staging: Path, number: int) -> None:
        meta = build_metadata(run_dir, metrics, model=name, version=number)
        text = meta.to_json()
        write_savedmodel(keras_model, staging, metadata=meta, metadata_json=text)
        (staging / ASSETS_EXTRA).mkdir()
        shutil.copy2(run_dir / RUN_SCALER_FILE, staging / ASSETS_EXTRA / SCALER_FILE)
        metadata_path(staging).write_text(text)
        write_warmup(warmup_path(staging), model=name, window=meta.window, scaler=meta.scaler)

    published = publish(models_dir / name, build, version=version)
    logger.info("published %s", published)
    return published


def republish_version(model_dir: Path, source: Path) -> Path:
    """Publishes a copy of ``source`` (a live or retired version) as the next version.

    The copy's ``metadata.json`` (both the folder's and the one its ``metadata`` signature returns)
    gets its new number and notes where it came from.
    """

    original = read_metadata(source)

    def build(staging: Path, number: int) -> None:
        shutil.copytree(source, staging)
        meta = original.model_copy(
            update={"version": number, "republished_from": RepublishedFrom(version=original.version, path=str(source))}
        )
        for path in (metadata_path(staging), metadata_asset_path(staging)):
            path.write_text(meta.to_json())

    return publish(model_dir, build)
