"""The official tensorflow-serving-api client against the local server, like TF Serving's own server test."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from common.contract import SIGNATURES
from common.labels import write_labels
from common.metadata import parse_metadata, read_metadata
from modelserver.grpc_server import serve
from modelserver.repository import ModelRepository
from tests.conftest import SMALL

pytestmark = pytest.mark.slow
W = SMALL.window


@pytest.fixture(scope="module")
def channel(models_dir: Path) -> Iterator[grpc.Channel]:
    repo = ModelRepository(models_dir)
    repo.refresh()
    server, port = serve(repo)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    server.stop(grace=None)


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> prediction_service_pb2_grpc.PredictionServiceStub:
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


def request(signature: str, version: int | None = None, **inputs: Any) -> predict_pb2.PredictRequest:
    req = predict_pb2.PredictRequest()
    req.model_spec.name = "aapl"
    req.model_spec.signature_name = signature
    if version is not None:
        req.model_spec.version.value = version
    for key, value in inputs.items():
        req.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return req


def local(models_dir: Path, version: int) -> Any:
    return tf.saved_model.load(str(models_dir / "aapl" / str(version)))


def test_serving_default_round_trip_names_the_newest_version(stub: Any, models_dir: Path) -> None:
    window = np.linspace(0.5, 0.7, W, dtype=np.float32).reshape(1, W, 1)
    reply = stub.Predict(request("serving_default", window=window), timeout=10)
    assert reply.model_spec.name == "aapl" and reply.model_spec.version.value == 2
    assert reply.model_spec.signature_name == "serving_default"
    got = tf.make_ndarray(reply.outputs["next"])
    expected = local(models_dir, 2).signatures["serving_default"](window=tf.constant(window))["next"].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert reply.outputs["next"].float_val  # TF Serving's default encoding


def test_forecast_round_trip_on_a_pinned_version(stub: Any, models_dir: Path) -> None:
    prices = np.linspace(180, 190, W, dtype=np.float32).reshape(1, W)
    steps = np.array([7], dtype=np.int32)
    reply = stub.Predict(request("forecast", version=1, prices=prices, steps=steps), timeout=10)
    assert reply.model_spec.version.value == 1
    v1 = local(models_dir, 1).signatures["forecast"](prices=tf.constant(prices), steps=tf.constant(steps))
    for name in ("forecast", "lower", "upper", "valid"):
        np.testing.assert_allclose(tf.make_ndarray(reply.outputs[name]), v1[name].numpy(), rtol=1e-6)
    assert tf.make_ndarray(reply.outputs["forecast"]).shape == (1, 7)
    assert tf.make_ndarray(reply.outputs["upper"]).shape == (1, 2, 7)
    v2 = local(models_dir, 2).signatures["forecast"](prices=tf.constant(prices), steps=tf.constant(steps))
    assert not np.allclose(tf.make_ndarray(reply.outputs["upper"]), v2["upper"].numpy())  # the pin mattered


def test_unknown_model(stub: Any) -> None:
    req = request("serving_default", window=np.zeros((1, W, 1), np.float32))
    req.model_spec.name = "zzz"
    with pytest.raises(grpc.RpcError) as exc:
        stub.Predict(req, timeout=10)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


def test_model_status_and_metadata(channel: grpc.Channel, stub: Any) -> None:
    status_req = get_model_status_pb2.GetModelStatusRequest()
    status_req.model_spec.name = "aapl"
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_req, timeout=10)
    assert [(s.version, s.state) for s in status.model_version_status] == [
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
        (2, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
    ]
    meta_req = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    meta_req.model_spec.name = "aapl"
    meta = stub.GetModelMetadata(meta_req, timeout=10)
    sig_map = get_model_metadata_pb2.SignatureDefMap()
    meta.metadata["signature_def"].Unpack(sig_map)
    assert set(sig_map.signature_def) == {s.name for s in SIGNATURES}
    assert set(sig_map.signature_def["forecast"].inputs) == {"prices", "steps"}


def test_a_bad_row_is_reported_in_valid_and_answered_with_nan(stub: Any) -> None:
    prices = np.linspace(180, 190, W, dtype=np.float32).reshape(1, W).repeat(2, axis=0)
    reply = stub.Predict(request("forecast", prices=prices, steps=np.array([3, 0], np.int32)), timeout=10)
    assert tf.make_ndarray(reply.outputs["valid"]).tolist() == [True, False]
    forecast = tf.make_ndarray(reply.outputs["forecast"])
    assert np.isfinite(forecast[0]).all() and np.isnan(forecast[1]).all()


def test_the_metadata_signature_over_grpc_is_the_versions_metadata(stub: Any, models_dir: Path) -> None:
    reply = stub.Predict(request("metadata", version=1, probe=np.zeros(2, np.int32)), timeout=10)
    texts = tf.make_ndarray(reply.outputs["metadata"]).tolist()
    assert len(texts) == 2 and parse_metadata(texts[0]) == read_metadata(models_dir / "aapl" / "1")


def test_version_labels_resolve_like_tf_servings(tmp_path: Path, models_dir: Path) -> None:
    import shutil

    base = tmp_path / "models"
    shutil.copytree(models_dir / "aapl", base / "aapl")
    write_labels(base / "aapl", {"stable": 1, "canary": 2})
    repo = ModelRepository(base)
    repo.refresh()
    server, port = serve(repo)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            labelled = prediction_service_pb2_grpc.PredictionServiceStub(ch)
            for label, version in (("stable", 1), ("canary", 2)):
                req = request("serving_default", window=np.full((1, W, 1), 0.5, np.float32))
                req.model_spec.version_label = label
                assert labelled.Predict(req, timeout=10).model_spec.version.value == version
            req.model_spec.version_label = "nightly"
            with pytest.raises(grpc.RpcError) as exc:
                labelled.Predict(req, timeout=10)
            assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "Unrecognized servable version label: nightly" in (exc.value.details() or "")
    finally:
        server.stop(grace=None)
        repo.stop()


def test_a_window_of_the_wrong_length_is_an_invalid_argument(stub: Any) -> None:
    req = request("serving_default", window=np.zeros((1, W - 1, 1), np.float32))
    with pytest.raises(grpc.RpcError) as exc:
        stub.Predict(req, timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"has shape (1, {W - 1}, 1), needs (None, {W}, 1)" in (exc.value.details() or "")
