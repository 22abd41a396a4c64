"""Writes a trained Keras model as a SavedModel with the serving contract's signatures.

No signature asserts on a row's values. TF Serving batches rows of different
clients into one call, and an op error fails the whole batch, so ``forecast``
clamps what it cannot use and reports it instead: a row whose prices are not
finite and within float32's normal range, or whose ``steps`` is outside
``1..MAX_FORECAST_STEPS``, gets NaN outputs and ``valid = false``, costs one
step of work, and leaves its neighbours' results untouched.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from common.contract import (
    FORECAST,
    FORECAST_OUTPUT,
    LOWER_OUTPUT,
    MAX_FORECAST_STEPS,
    MAX_PRICE,
    METADATA,
    METADATA_FILE,
    METADATA_OUTPUT,
    MIN_PRICE,
    NEXT_OUTPUT,
    SCALE_OUTPUT,
    SERVING_DEFAULT,
    UPPER_OUTPUT,
    VALID_OUTPUT,
    TensorSpec,
)
from common.metadata import VersionMetadata


def _spec(tensor: TensorSpec, window: int) -> Any:
    import tensorflow as tf

    shape = [None if d < 0 else d for d in tensor.concrete_shape(window)]
    return tf.TensorSpec(shape, tensor.dtype, name=tensor.name)


def _specs(tensors: tuple[TensorSpec, ...], window: int) -> list[Any]:
    return [_spec(t, window) for t in tensors]


def write_savedmodel(model: Any, path: Path, *, metadata: VersionMetadata, metadata_json: str) -> None:
    """Exports ``model`` to ``path`` with the contract's signatures.

    Args:
        model: Keras model mapping scaled windows ``[batch, W, 1]`` to ``{"next": [batch, 1], "scale": [batch, 1]}``.
        path: SavedModel folder to create (must not exist).
        metadata: the version's metadata: window, scaler (fit on the training period, price units) and the
            interval tables, which become constants of the graph.
        metadata_json: ``metadata`` as written to ``metadata.json``; it becomes a SavedModel asset that the
            ``metadata`` signature returns, so a gRPC reader learns the contract from the version itself.
    """
    import keras
    import tensorflow as tf

    window, scaler = metadata.window, metadata.scaler
    lo = tf.constant(scaler.data_min, tf.float32)
    span = tf.constant(scaler.span, tf.float32)
    range_lo = tf.constant(scaler.feature_range[0], tf.float32)
    range_span = tf.constant(scaler.feature_range[1] - scaler.feature_range[0], tf.float32)
    # A usable window stands in for unusable rows, so that their arithmetic stays finite (their outputs are NaN).
    neutral = tf.constant(scaler.data_min + scaler.span / 2, tf.float32)
    nan = tf.constant(float("nan"), tf.float32)
    lower_table = tf.constant(metadata.intervals.lower, tf.float32)  # [levels, MAX_FORECAST_STEPS]
    upper_table = tf.constant(metadata.intervals.upper, tf.float32)

    def unscale(x: tf.Tensor) -> tf.Tensor:
        return (x - range_lo) / range_span * span + lo

    archive = keras.export.ExportArchive()
    archive.track(model)

    def serving_default(window_in: tf.Tensor) -> dict[str, tf.Tensor]:
        out = model(window_in, training=False)
        return {NEXT_OUTPUT: out[NEXT_OUTPUT], SCALE_OUTPUT: out[SCALE_OUTPUT]}

    def forecast(prices: tf.Tensor, steps: tf.Tensor) -> dict[str, tf.Tensor]:
        usable = tf.reduce_all(tf.math.is_finite(prices) & (prices >= MIN_PRICE) & (prices <= MAX_PRICE), axis=1)
        valid = usable & (steps >= 1) & (steps <= MAX_FORECAST_STEPS)
        # Clamped before the loop: one row asking for 10**9 steps must not make its batch run for ever.
        row_steps = tf.where(valid, steps, tf.ones_like(steps))
        max_steps = tf.maximum(tf.reduce_max(row_steps), 1)
        safe = tf.where(valid[:, tf.newaxis], prices, tf.fill(tf.shape(prices), neutral))
        # Same transform as sklearn's MinMaxScaler (ScalerParams.transform).
        scaled = ((safe - lo) / span * range_span + range_lo)[:, :, tf.newaxis]
        out = tf.TensorArray(tf.float32, size=max_steps)

        def body(
            i: tf.Tensor, win: tf.Tensor, sigma: tf.Tensor, acc: tf.TensorArray
        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.TensorArray]:
            step = model(win, training=False)
            nxt = step[NEXT_OUTPUT]  # [batch, 1]
            # The intervals scale with the origin window's own predicted scale (the first step's).
            sigma = tf.cond(i == 0, lambda: step[SCALE_OUTPUT], lambda: sigma)
            # Slide the window: drop the oldest day, append the prediction.
            win = tf.concat([win[:, 1:, :], nxt[:, :, tf.newaxis]], axis=1)
            return i + 1, win, sigma, acc.write(i, nxt[:, 0])

        sigma0 = tf.zeros_like(scaled[:, 0, :])
        _, _, sigma, out = tf.while_loop(lambda i, w, s, a: i < max_steps, body, (tf.constant(0), scaled, sigma0, out))
        point = tf.transpose(out.stack())  # [batch, max_steps], scaled
        # Bounds as common.metadata.Intervals.bounds computes them: [batch, levels, max_steps].
        spread = sigma[:, :, tf.newaxis]
        lower = point[:, tf.newaxis, :] + lower_table[tf.newaxis, :, :max_steps] * spread
        upper = point[:, tf.newaxis, :] + upper_table[tf.newaxis, :, :max_steps] * spread
        values, lower, upper = unscale(point), unscale(lower), unscale(upper)
        # Rows asking for fewer steps than the batch's maximum get zeros past their own horizon.
        within = tf.sequence_mask(row_steps, max_steps)
        values = tf.where(within, values, tf.zeros_like(values))
        lower = tf.where(within[:, tf.newaxis, :], lower, tf.zeros_like(lower))
        upper = tf.where(within[:, tf.newaxis, :], upper, tf.zeros_like(upper))
        # A window far outside the training range can overflow float32 on the way: that row is invalid too.
        finite = tf.reduce_all(tf.math.is_finite(values), axis=1)
        valid = valid & finite & tf.reduce_all(tf.math.is_finite(lower) & tf.math.is_finite(upper), axis=[1, 2])

        row, band = valid[:, tf.newaxis], valid[:, tf.newaxis, tf.newaxis]
        return {
            FORECAST_OUTPUT: tf.where(row, values, tf.fill(tf.shape(values), nan)),
            LOWER_OUTPUT: tf.where(band, lower, tf.fill(tf.shape(lower), nan)),
            UPPER_OUTPUT: tf.where(band, upper, tf.fill(tf.shape(upper), nan)),
            VALID_OUTPUT: valid,
        }

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / METADATA_FILE
        source.write_text(metadata_json)
        asset = tf.saved_model.Asset(str(source))
        # ExportArchive.track() keeps only lookup-table resources; an Asset must hang off the saved root itself
        # to be copied into assets/ (tests/export check that the signature reads the copy, not this temp file).
        archive._tf_trackable.metadata_asset = asset

        def describe(probe: tf.Tensor) -> dict[str, tf.Tensor]:
            return {METADATA_OUTPUT: tf.fill(tf.shape(probe), tf.io.read_file(asset.asset_path))}

        for spec, fn in ((SERVING_DEFAULT, serving_default), (FORECAST, forecast), (METADATA, describe)):
            archive.add_endpoint(spec.name, fn, input_signature=_specs(spec.inputs, window))
        archive.write_out(str(path), verbose=False)
