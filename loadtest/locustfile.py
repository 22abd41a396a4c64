"""Locust users for the facade (HTTP) and for TF Serving (gRPC, official client).

    locust -f loadtest/locustfile.py --host http://127.0.0.1:8000 FacadeUser
    locust -f loadtest/locustfile.py GrpcUser        # LOADTEST_GRPC_TARGET=127.0.0.1:8500

Tags pick the work: ``predict1``, ``predict10``, ``csv`` (facade); ``grpc1``,
``grpc10loop``, ``grpcforecast10`` (gRPC). ``python -m loadtest.run`` runs
the benchmark scenarios headless and summarises them.

Environment: LOADTEST_API_KEY (else one is minted at test start with
FACADE_ADMIN_TOKEN), LOADTEST_GRPC_TARGET, LOADTEST_MODEL (default aapl).
Each user learns the served version's window (and scaler) from the server it
loads: the facade's ``GET /models``, or TF Serving's ``metadata`` signature.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from locust import FastHttpUser, User, between, constant, events, tag, task

from common.contract import (
    DEFAULT_SIGNATURE,
    DEFAULT_WINDOW,
    FORECAST_SIGNATURE,
    METADATA_OUTPUT,
    METADATA_SIGNATURE,
    NEXT_OUTPUT,
    PRICES_INPUT,
    PRICES_TENSOR,
    PROBE_INPUT,
    PROBE_TENSOR,
    STEPS_INPUT,
    STEPS_TENSOR,
    WINDOW_INPUT,
    WINDOW_TENSOR,
)
from common.metadata import parse_metadata
from loadtest.payloads import EXTRA_HISTORY, closes, csv_upload

MODEL = os.environ.get("LOADTEST_MODEL", "aapl")
_key: dict[str, str] = {}
_bodies: dict[str, Any] = {}


@events.test_start.add_listener
def _mint_key(environment: Any, **_kwargs: Any) -> None:
    """A key for the run: LOADTEST_API_KEY, or minted once with the admin token."""
    if os.environ.get("LOADTEST_API_KEY"):
        _key["value"] = os.environ["LOADTEST_API_KEY"]
        return
    token = os.environ.get("FACADE_ADMIN_TOKEN")
    if not token or not environment.host:
        return
    req = urllib.request.Request(  # noqa: S310 - the host under test, given on the command line
        f"{environment.host}/generate_api_key",
        method="POST",
        headers={"x-admin-token": token, "content-type": "application/json"},
        data=json.dumps({"name": "locust"}).encode(),
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        _key["value"] = json.load(r)["api_key"]


def _served_window(host: str) -> int:
    """The newest version's window from the facade's ``GET /models``; LOADTEST_WINDOW for apps without it."""
    try:
        with urllib.request.urlopen(f"{host}/models", timeout=10) as r:  # noqa: S310 - the host under test
            versions = json.load(r)["models"].get(MODEL) or []
    except urllib.error.HTTPError as exc:
        if exc.code != 404:  # the baseline and ceiling apps have no /models
            raise
        return int(os.environ.get("LOADTEST_WINDOW", DEFAULT_WINDOW))
    windows = [v["window"] for v in versions if "window" in v]
    if not windows:
        raise RuntimeError(f"the facade at {host} serves no version of {MODEL!r}")
    return int(windows[-1])


def _facade_bodies(host: str) -> dict[str, Any]:
    """Request bodies sized for the newest version the host serves, built once per Locust process."""
    if not _bodies:
        prices = closes(_served_window(host) + EXTRA_HISTORY)
        _bodies.update(
            one=json.dumps({"prices": prices, "steps": 1}),
            ten=json.dumps({"prices": prices, "steps": 10}),
            csv=csv_upload(len(prices)),
        )
    return _bodies


_grpc: dict[str, Any] = {}


@events.init.add_listener
def _load_grpc_client(environment: Any, **_kwargs: Any) -> None:
    """Imports the official client (all of TensorFlow, seconds) before the clock starts, if a GrpcUser runs."""
    if not any(u.__name__ == "GrpcUser" for u in environment.user_classes or []):
        return
    import grpc
    import grpc.experimental.gevent as grpc_gevent

    # The sync channel must yield to gevent, or one user would block all the others.
    grpc_gevent.init_gevent()
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    _grpc.update(grpc=grpc, np=np, tf=tf, pb=predict_pb2, stubs=prediction_service_pb2_grpc)


class FacadeUser(FastHttpUser):
    """A REST client of the facade (or of the baseline and ceiling apps, which take the same body)."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.bodies = _facade_bodies(self.host or "")

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": _key.get("value", ""), "content-type": "application/json"}

    @tag("predict1")
    @task
    def predict_1(self) -> None:
        self.client.post("/predict", data=self.bodies["one"], headers=self._headers(), name="/predict 1 step")

    @tag("predict10")
    @task
    def predict_10(self) -> None:
        self.client.post("/predict", data=self.bodies["ten"], headers=self._headers(), name="/predict 10 steps")

    @tag("csv")
    @task
    def predict_csv(self) -> None:
        self.client.post(
            "/predict_csv",
            headers={"x-api-key": _key.get("value", "")},
            files={"file": ("prices.csv", self.bodies["csv"], "text/csv")},
            data={"steps": "10"},
            name="/predict_csv 10 steps",
        )


class GrpcUser(User):
    """Calls TF Serving's Predict directly with the official tensorflow-serving-api client."""

    wait_time = between(0, 0)
    host = os.environ.get("LOADTEST_GRPC_TARGET", "127.0.0.1:8500")

    def on_start(self) -> None:
        np = _grpc["np"]
        self.np, self.tf, self.pb = np, _grpc["tf"], _grpc["pb"]
        self.channel = _grpc["grpc"].insecure_channel(self.host)
        self.stub = _grpc["stubs"].PredictionServiceStub(self.channel)
        # The served version's own contract, from its metadata signature: window and scaler.
        probe = self._request(METADATA_SIGNATURE, **{PROBE_INPUT: np.zeros(1, dtype=PROBE_TENSOR.dtype)})
        reply = self.stub.Predict(probe, timeout=30)
        meta = parse_metadata(self.tf.make_ndarray(reply.outputs[METADATA_OUTPUT])[0])
        raw = np.asarray(closes(meta.window), dtype=np.float64)
        self.window = meta.scaler.transform(raw).astype(WINDOW_TENSOR.dtype).reshape(1, meta.window, 1)
        self.prices = raw.astype(PRICES_TENSOR.dtype).reshape(1, meta.window)

    def on_stop(self) -> None:
        self.channel.close()

    def _request(self, signature: str, **inputs: Any) -> Any:
        req = self.pb.PredictRequest()
        req.model_spec.name = MODEL
        req.model_spec.signature_name = signature
        for key, value in inputs.items():
            req.inputs[key].CopyFrom(self.tf.make_tensor_proto(value))
        return req

    def _call(self, name: str, calls: list[Any]) -> None:
        start = time.perf_counter()
        exc = None
        size = 0
        try:
            for req in calls:
                size += self.stub.Predict(req, timeout=10).ByteSize()
        except Exception as e:
            exc = e
        events.request.fire(
            request_type="grpc",
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=size,
            exception=exc,
            context={},
        )

    @tag("grpc1")
    @task
    def serving_default_1(self) -> None:
        self._call("Predict serving_default x1", [self._request(DEFAULT_SIGNATURE, **{WINDOW_INPUT: self.window})])

    @tag("grpc10loop")
    @task
    def serving_default_10(self) -> None:
        # The same work as the facade's 10-step loop: ten dependent calls, each fed the previous output.
        start = time.perf_counter()
        exc = None
        window = self.window
        try:
            for _ in range(10):
                reply = self.stub.Predict(self._request(DEFAULT_SIGNATURE, **{WINDOW_INPUT: window}), timeout=10)
                nxt = self.tf.make_ndarray(reply.outputs[NEXT_OUTPUT]).reshape(1, 1, 1)
                window = self.np.concatenate([window[:, 1:, :], nxt], axis=1)
        except Exception as e:
            exc = e
        events.request.fire(
            request_type="grpc",
            name="Predict serving_default loop x10",
            response_time=(time.perf_counter() - start) * 1000,
            response_length=0,
            exception=exc,
            context={},
        )

    @tag("grpcforecast10")
    @task
    def forecast_10(self) -> None:
        steps = self.np.array([10], dtype=STEPS_TENSOR.dtype)
        request = self._request(FORECAST_SIGNATURE, **{PRICES_INPUT: self.prices, STEPS_INPUT: steps})
        self._call("Predict forecast steps=10", [request])
