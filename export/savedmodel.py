"""Writes a trained Keras model as a SavedModel with the serving contract's signatures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.contract import (
    FORECAST,
    FORECAST_OUTPUT,
    MAX_FORECAST_STEPS,
    NEXT_OUTPUT,
    PRICES_TENSOR,
    SERVING_DEFAULT,
    STEPS_TENSOR,
    WINDOW_TENSOR,
    TensorSpec,
)
from common.metadata import ScalerParams


def _spec(tensor: TensorSpec, window: int) -> Any:
    import tensorflow as tf

    shape = [None if d < 0 else d for d in tensor.concrete_shape(window)]
    return tf.TensorSpec(shape, tensor.dtype, name=tensor.name)


def write_savedmodel(model: Any, path: Path, *, window: int, scaler: ScalerParams) -> None:
    """Exports ``model`` to ``path`` with the contract's ``serving_default`` and ``forecast`` signatures.

    Args:
        model: Keras model mapping scaled windows ``[batch, W, 1]`` to ``[batch, 1]``.
        path: SavedModel folder to create (must not exist).
        window: ``W``.
        scaler: the version's MinMaxScaler (fit on the training period, price units).
    """
    import keras
    import tensorflow as tf

    lo = tf.constant(scaler.data_min, tf.float32)
    span = tf.constant(scaler.span, tf.float32)
    range_lo = tf.constant(scaler.feature_range[0], tf.float32)
    range_span = tf.constant(scaler.feature_range[1] - scaler.feature_range[0], tf.float32)

    archive = keras.export.ExportArchive()
    archive.track(model)

    def serving_default(window_in: tf.Tensor) -> dict[str, tf.Tensor]:
        return {NEXT_OUTPUT: model(window_in, training=False)}

    def forecast(prices: tf.Tensor, steps: tf.Tensor) -> dict[str, tf.Tensor]:
        checks = [
            tf.debugging.assert_positive(steps, message="steps must be at least 1"),
            tf.debugging.assert_less_equal(
                steps, MAX_FORECAST_STEPS, message=f"steps must be at most {MAX_FORECAST_STEPS}"
            ),
            tf.debugging.assert_positive(prices, message="prices must be positive"),
        ]
        with tf.control_dependencies(checks):
            max_steps = tf.reduce_max(steps)
        # Same transform as sklearn's MinMaxScaler (ScalerParams.transform).
        scaled = ((prices - lo) / span * range_span + range_lo)[:, :, tf.newaxis]
        out = tf.TensorArray(tf.float32, size=max_steps)

        def body(i: tf.Tensor, win: tf.Tensor, acc: tf.TensorArray) -> tuple[tf.Tensor, tf.Tensor, tf.TensorArray]:
            nxt = model(win, training=False)  # [batch, 1]
            # Slide the window: drop the oldest day, append the prediction.
            win = tf.concat([win[:, 1:, :], nxt[:, :, tf.newaxis]], axis=1)
            return i + 1, win, acc.write(i, nxt[:, 0])

        _, _, out = tf.while_loop(lambda i, w, a: i < max_steps, body, (tf.constant(0), scaled, out))
        values = (tf.transpose(out.stack()) - range_lo) / range_span * span + lo  # [batch, max_steps], price units
        # Rows asking for fewer steps than the batch's maximum get zeros past their own horizon.
        mask = tf.sequence_mask(steps, max_steps)
        return {FORECAST_OUTPUT: tf.where(mask, values, tf.zeros_like(values))}

    archive.add_endpoint(name=SERVING_DEFAULT.name, fn=serving_default, input_signature=[_spec(WINDOW_TENSOR, window)])
    archive.add_endpoint(
        name=FORECAST.name,
        fn=forecast,
        input_signature=[_spec(PRICES_TENSOR, window), _spec(STEPS_TENSOR, window)],
    )
    archive.write_out(str(path), verbose=False)
