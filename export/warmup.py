"""TF Serving warmup records: ``assets.extra/tf_serving_warmup_requests``.

TF Serving replays these PredictionLog records against a version before it
marks the version AVAILABLE, so graph tracing and allocation happen before the
first real request, not during it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from common.contract import (
    DEFAULT_SIGNATURE,
    FORECAST_SIGNATURE,
    METADATA_SIGNATURE,
    PRICES_INPUT,
    PROBE_INPUT,
    STEPS_INPUT,
    WINDOW_INPUT,
)
from common.metadata import ScalerParams

# Batch sizes the batching config can form (see serving_config/batching.config).
WARMUP_BATCHES = (1, 8, 32)
WARMUP_STEPS = (1, 10)


def warmup_inputs(
    window: int, scaler: ScalerParams
) -> list[tuple[str, dict[str, npt.NDArray[np.float32] | npt.NDArray[np.int32]]]]:
    """(signature, inputs) pairs covering both signatures at typical shapes."""
    raw = np.linspace(scaler.data_min + 0.2 * scaler.span, scaler.data_min + 0.8 * scaler.span, window)
    scaled = scaler.transform(raw).astype(np.float32)
    prices = raw.astype(np.float32)
    out: list[tuple[str, dict[str, npt.NDArray[np.float32] | npt.NDArray[np.int32]]]] = []
    for batch in WARMUP_BATCHES:
        out.append((DEFAULT_SIGNATURE, {WINDOW_INPUT: np.tile(scaled[None, :, None], (batch, 1, 1))}))
    for steps in WARMUP_STEPS:
        out.append(
            (
                FORECAST_SIGNATURE,
                {PRICES_INPUT: prices[None, :], STEPS_INPUT: np.array([steps], dtype=np.int32)},
            )
        )
    out.append((METADATA_SIGNATURE, {PROBE_INPUT: np.zeros(1, dtype=np.int32)}))
    return out


def write_warmup(path: Path, *, model: str, window: int, scaler: ScalerParams) -> int:
    """Writes the warmup TFRecord file; returns how many records it holds."""
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    records = warmup_inputs(window, scaler)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in records:
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model, signature_name=signature))
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return len(records)
