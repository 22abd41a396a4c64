"""The facade's light gRPC client against the official one, call for call, on the same server.

    python -m loadtest.clients [--calls 500] [--rounds 4] [--steps 10]

Starts the local TF Serving-API server (``python -m modelserver``) on
127.0.0.1 over ``models/``, then alternates loops of ``--calls`` sequential
``forecast`` calls (one user): the official ``tensorflow-serving-api`` stub
(sync), then the facade's ``TFServingClient`` (grpc.aio, no TensorFlow). The
loops alternate so that the machine's drift hits both alike; each line is one
loop's mean time per call, and the CPU per call of the thread that made it:
the official client's calling thread, and the facade client's event-loop
thread (the thread that bounds one facade worker). What is left of the facade's overhead at one
user, beyond the difference printed here, is its HTTP side.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np

from common.contract import FORECAST_SIGNATURE, PRICES_INPUT, PRICES_TENSOR, STEPS_INPUT, STEPS_TENSOR, signature
from facade.backends.tfs_client import TFServingClient
from loadtest import procs
from loadtest.payloads import closes, newest_metadata

MODEL = "aapl"


def _official_ms(target: str, inputs: dict[str, Any], calls: int) -> tuple[float, float]:
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = MODEL
        request.model_spec.signature_name = FORECAST_SIGNATURE
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
        for _ in range(20):
            stub.Predict(request, timeout=10)
        start, cpu = time.perf_counter(), time.thread_time()
        for _ in range(calls):
            stub.Predict(request, timeout=10)
        return (time.perf_counter() - start) / calls * 1000, (time.thread_time() - cpu) / calls * 1e6


async def _light_ms(target: str, version: int, inputs: dict[str, Any], calls: int) -> tuple[float, float]:
    client = TFServingClient(target, timeout_s=10)
    outputs = [t.name for t in signature(FORECAST_SIGNATURE).outputs]
    try:
        for _ in range(20):
            await client.predict(MODEL, version=version, signature=FORECAST_SIGNATURE, inputs=inputs, outputs=outputs)
        start, cpu = time.perf_counter(), time.thread_time()
        for _ in range(calls):
            await client.predict(MODEL, version=version, signature=FORECAST_SIGNATURE, inputs=inputs, outputs=outputs)
        return (time.perf_counter() - start) / calls * 1000, (time.thread_time() - cpu) / calls * 1e6
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.clients", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    meta = newest_metadata(MODEL, args.models_dir)
    if meta is None:
        parser.error(f"no version of {MODEL} under {args.models_dir}: run `make run` or `python -m export publish`")
    inputs = {
        PRICES_INPUT: np.asarray(closes(meta.window), dtype=PRICES_TENSOR.dtype).reshape(1, meta.window),
        STEPS_INPUT: np.array([args.steps], dtype=STEPS_TENSOR.dtype),
    }
    port = procs.free_port()
    target = f"127.0.0.1:{port}"
    with procs.grpc_server(args.models_dir, port):
        procs.wait_port(port)
        print(f"{args.steps}-step forecast calls on {target}, mean ms per call, {args.calls} calls per loop")
        for i in range(args.rounds):
            official, official_cpu = _official_ms(target, inputs, args.calls)
            light, light_cpu = asyncio.run(_light_ms(target, meta.version, inputs, args.calls))
            print(
                f"round {i + 1}: official client {official:.2f} ms ({official_cpu:.0f} us CPU in the calling thread), "
                f"facade's client {light:.2f} ms ({light_cpu:.0f} us CPU in the event loop's thread)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
