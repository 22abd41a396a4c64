"""A gRPC consumer of TF Serving with the official client: one call, a multi-day forecast.

    python examples/grpc_forecast.py --target 127.0.0.1:8500 --model aapl --steps 5

The ``forecast`` signature takes raw prices and scales inside the graph, so
this client needs no scaler; it only needs the window length, which the
version's own ``metadata`` signature reports (with its ticker, training data
range and test metrics), as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

DATA = Path(__file__).resolve().parent.parent / "data" / "AAPL.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="127.0.0.1:8500")
    parser.add_argument("--model", default="aapl")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--csv", type=Path, default=DATA, help="a Date,...,Close CSV; its last closes are sent")
    args = parser.parse_args()

    with grpc.insecure_channel(args.target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

        # The newest version describes itself; pin that version for the forecast so both calls agree.
        meta_request = predict_pb2.PredictRequest()
        meta_request.model_spec.name = args.model
        meta_request.model_spec.signature_name = "metadata"
        meta_request.inputs["probe"].CopyFrom(tf.make_tensor_proto(np.zeros(1, dtype=np.int32)))
        meta_reply = stub.Predict(meta_request, timeout=10)
        meta = json.loads(tf.make_ndarray(meta_reply.outputs["metadata"])[0])
        window, version = meta["window"], meta_reply.model_spec.version.value

        with args.csv.open() as fh:
            closes = [float(row["Close"]) for row in csv.DictReader(fh)]
        prices = np.asarray(closes[-window:], dtype=np.float32).reshape(1, window)

        request = predict_pb2.PredictRequest()
        request.model_spec.name = args.model
        request.model_spec.version.value = version
        request.model_spec.signature_name = "forecast"
        request.inputs["prices"].CopyFrom(tf.make_tensor_proto(prices))
        request.inputs["steps"].CopyFrom(tf.make_tensor_proto(np.array([args.steps], dtype=np.int32)))
        reply = stub.Predict(request, timeout=10)

    forecast = tf.make_ndarray(reply.outputs["forecast"])[0]
    print(
        f"model {reply.model_spec.name} version {reply.model_spec.version.value} ({meta['ticker']}, window {window}), "
        f"last close {closes[-1]:.2f}"
    )
    for day, value in enumerate(forecast, start=1):
        print(f"  day +{day}: {value:.2f}")


if __name__ == "__main__":
    main()
