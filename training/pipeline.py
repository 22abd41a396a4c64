"""One training run: prices -> windows -> fitted network -> calibrated intervals -> metrics -> artifacts."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.contract import MAX_FORECAST_STEPS, NEXT_OUTPUT
from common.naming import model_name
from common.prices import PriceSeries
from training import artifacts
from training.baselines import ewma_intervals, unconditional_intervals
from training.config import TrainConfig
from training.evaluate import horizon_metrics, interval_scores, point_metrics
from training.intervals import (
    PATHS_PER_HORIZON,
    SCALE_OUTPUT,
    IntervalCalibration,
    PredictOutputs,
    calibrate,
    forecast_intervals,
    normalised_errors,
)
from training.windows import FloatArray, Split, chronological_split, fit_scaler, future_values, make_windows

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced: its folder and its metrics."""

    run_dir: Path
    metrics: dict[str, Any]


@dataclass
class Fitted:
    """A trained network with what training learned about it."""

    model: Any
    history: dict[str, list[float]]
    shrinkage: float
    calibration: IntervalCalibration
    windows: dict[str, int]


def seed_everything(seed: int) -> None:
    """Seeds Python, NumPy and TensorFlow and makes TF ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def predictor(model: Any) -> PredictOutputs:
    """The model as a function of scaled windows to its outputs, in float64."""

    def predict(windows: FloatArray) -> dict[str, FloatArray]:
        out = model.predict_on_batch(windows.astype(np.float32))
        return {name: np.asarray(value, dtype=np.float64) for name, value in out.items()}

    return predict


def shrink_head(model: Any, x_val: FloatArray, y_val: FloatArray) -> float:
    """Shrinks the learned point correction towards persistence, fitted on validation.

    The network's point forecast is ``last + delta``. The factor ``a`` in
    ``last + a * delta`` that minimises validation squared error is
    ``sum(delta * (y - last)) / sum(delta**2)``; clipped to ``[0, 1]``, it is
    folded into the point head (``delta`` is linear in its weights), so the saved
    model carries it. ``a = 0`` is exactly the persistence forecast: the model
    keeps only as much of what it learned as held up on data it was not fitted on.

    Returns:
        The factor applied.
    """
    last = x_val[:, -1, :]
    delta = predictor(model)(x_val)[NEXT_OUTPUT] - last
    denom = float(np.sum(delta**2))
    factor = float(np.clip(np.sum(delta * (y_val - last)) / denom, 0.0, 1.0)) if denom > 0 else 0.0
    head = model.get_layer("delta")
    head.set_weights([w * factor for w in head.get_weights()])
    return factor


def fit(scaled: FloatArray, split: Split, config: TrainConfig, *, verbose: int = 0) -> Fitted:
    """Trains on the training rows, then shrinks the point head and calibrates intervals on validation.

    Args:
        scaled: the whole series in scaled units; rows past ``split.val_end`` are never read.
        split: the row boundaries.
        config: hyperparameters.
        verbose: Keras verbosity.
    """
    import keras

    from training.model import build_model

    parts = split.parts
    x_train, y_train = make_windows(scaled, parts["train"], window=config.window)
    x_val, y_val = make_windows(scaled, parts["val"], window=config.window)
    logger.info("windows: train %d, val %d", len(x_train), len(x_val))

    seed_everything(config.seed)
    model = build_model(config.window, units=config.units, learning_rate=config.learning_rate, features=config.features)

    def targets(x: FloatArray, y: FloatArray) -> dict[str, FloatArray]:
        return {NEXT_OUTPUT: y, SCALE_OUTPUT: y - x[:, -1, :]}

    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)]
    history = model.fit(
        x_train,
        targets(x_train, y_train),
        validation_data=(x_val, targets(x_val, y_val)),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,  # shuffles windows within the training period only
        callbacks=callbacks,
        verbose=verbose,
    )
    shrinkage = shrink_head(model, x_val, y_val)
    # Validation origins are the rows before each validation target; their futures stop at the period's end.
    origins = np.arange(max(split.train_end, config.window), split.val_end) - 1
    horizon = min(MAX_FORECAST_STEPS, max(1, len(origins) // PATHS_PER_HORIZON))
    future = future_values(scaled, origins, horizon=horizon, stop=split.val_end)
    errors = normalised_errors(predictor(model), x_val, future)
    calibration = calibrate(errors, levels=config.levels, steps=MAX_FORECAST_STEPS)
    return Fitted(model, history.history, shrinkage, calibration, {"train": len(x_train), "val": len(x_val)})


def evaluate_test(
    prices: FloatArray, scaled: FloatArray, split: Split, fitted: Fitted, config: TrainConfig, scaler: Any
) -> tuple[dict[str, Any], dict[str, FloatArray]]:
    """Scores the point path and the intervals on the test rows, with the baselines.

    Returns:
        The metrics (``test``, ``horizons``, ``interval_scores``) and, for plots, the
        test-period arrays in price units: ``actual``, ``predicted``, ``persistence``,
        ``lower`` and ``upper`` (``[n, levels]``, one day ahead).
    """
    x_test, _ = make_windows(scaled, split.parts["test"], window=config.window)
    targets = np.arange(max(split.val_end, config.window), split.n)
    origins = targets - 1
    steps = max(config.horizons)
    point, lower, upper = forecast_intervals(
        predictor(fitted.model), x_test, steps=steps, calibration=fitted.calibration
    )

    def unscale(values: FloatArray) -> FloatArray:
        return np.asarray(scaler.inverse_transform(values.reshape(-1, 1)).reshape(values.shape), dtype=np.float64)

    point, lower, upper = unscale(point), unscale(lower), unscale(upper)
    levels = fitted.calibration.levels
    scores: dict[str, Any] = {}
    for h in config.horizons:
        ok = origins + h < prices.shape[0]
        o, actual = origins[ok], prices[origins[ok] + h]
        model_lo, model_hi = lower[ok, :, h - 1], upper[ok, :, h - 1]
        uncond = unconditional_intervals(prices, o, train_end=split.train_end, horizon=h, levels=levels)
        ewma = ewma_intervals(prices, o, horizon=h, levels=levels)
        scores[str(h)] = {
            "model": interval_scores(actual, model_lo, model_hi, levels),
            "unconditional": interval_scores(actual, *uncond, levels),
            "ewma": interval_scores(actual, *ewma, levels),
        }
    actual = prices[targets]
    persistence = prices[origins]
    metrics = {
        "test": point_metrics(actual, point[:, 0], persistence),
        "horizons": horizon_metrics(prices, origins, point, config.horizons),
        "interval_scores": {"levels": list(levels), "horizons": scores},
    }
    plot = {
        "actual": actual,
        "predicted": point[:, 0],
        "persistence": persistence,
        "lower": lower[:, :, 0],
        "upper": upper[:, :, 0],
    }
    return metrics, plot


def train(series: PriceSeries, config: TrainConfig, *, out_dir: Path, verbose: int | None = None) -> RunResult:
    """Trains, calibrates, evaluates and writes one run folder.

    Args:
        series: chronological daily prices (with dates when known).
        config: hyperparameters and split.
        out_dir: the run folder to create.
        verbose: Keras verbosity; a progress bar on a terminal, one line per epoch otherwise.

    Returns:
        The run folder and its metrics (also written to ``metrics.json``).
    """
    started = time.perf_counter()
    prices = np.asarray(series.prices, dtype=np.float64)
    split = chronological_split(
        prices.shape[0], window=config.window, val_fraction=config.val_fraction, test_fraction=config.test_fraction
    )
    scaler = fit_scaler(prices, split)
    scaled = scaler.transform(prices.reshape(-1, 1))[:, 0]
    fitted = fit(scaled, split, config, verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2))
    train_seconds = time.perf_counter() - started
    evaluation, plot = evaluate_test(prices, scaled, split, fitted, config, scaler)
    test_targets = np.arange(max(split.val_end, config.window), split.n)
    metrics: dict[str, Any] = {
        "model": model_name(config.ticker),
        "ticker": config.ticker,
        "data": _data_info(series, split),
        "config": config.to_json(),
        **evaluation,
        "intervals": fitted.calibration.to_json(),
        "training": {
            "epochs_run": len(fitted.history["loss"]),
            "head_shrinkage": round(fitted.shrinkage, 6),
            "seconds": round(train_seconds, 2),
            "windows": {**fitted.windows, "test": len(test_targets)},
        },
        "scaler": {"data_min": float(scaler.data_min_[0]), "data_max": float(scaler.data_max_[0])},
        "versions": artifacts.library_versions(),
    }
    artifacts.write_run(
        out_dir,
        model=fitted.model,
        scaler=scaler,
        metrics=metrics,
        history=fitted.history,
        test_dates=[series.dates[i] for i in test_targets] if series.dates else None,
        plot=plot,
    )
    return RunResult(out_dir, metrics)


def _data_info(series: PriceSeries, split: Split) -> dict[str, Any]:
    info: dict[str, Any] = {"rows": split.n, "train_rows": split.train_end, "val_rows": split.val_end - split.train_end}
    info["test_rows"] = split.n - split.val_end
    if series.dates:
        d = series.dates
        info["range"] = [d[0].isoformat(), d[-1].isoformat()]
        for name, rows in split.parts.items():
            info[f"{name}_range"] = [d[rows.start].isoformat(), d[rows.stop - 1].isoformat()]
    return info
