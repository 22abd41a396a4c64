"""The light client's messages and TF Serving's official ones are the same on the wire, both ways."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2, predict_pb2

from facade.backends.tfs_client import decode, encode
from facade.protos import tfs_lite_pb2 as lite


def test_our_request_parses_as_the_official_request() -> None:
    ours = lite.PredictRequest(output_filter=["next"])
    ours.model_spec.name = "aapl"
    ours.model_spec.version.value = 7
    ours.model_spec.signature_name = "serving_default"
    window = np.arange(60, dtype=np.float32).reshape(1, 60, 1) / 100
    ours.inputs["window"].CopyFrom(encode(window))
    official = predict_pb2.PredictRequest.FromString(ours.SerializeToString())
    assert official.model_spec.name == "aapl" and official.model_spec.version.value == 7
    assert official.model_spec.signature_name == "serving_default"
    assert list(official.output_filter) == ["next"]
    np.testing.assert_array_equal(tf.make_ndarray(official.inputs["window"]), window)


@pytest.mark.parametrize("content", [False, True])
def test_official_response_parses_as_ours(content: bool) -> None:
    official = predict_pb2.PredictResponse()
    official.model_spec.name = "aapl"
    official.model_spec.version.value = 3
    official.model_spec.signature_name = "forecast"
    values = np.array([[101.5, 102.25, 0.0]], dtype=np.float32)
    if content:
        official.outputs["forecast"].CopyFrom(tf.make_tensor_proto(values))  # tensor_content
        assert official.outputs["forecast"].tensor_content
    else:
        proto = official.outputs["forecast"]
        proto.dtype = tf.float32.as_datatype_enum
        proto.tensor_shape.dim.add().size = 1
        proto.tensor_shape.dim.add().size = 3
        proto.float_val.extend(values.ravel().tolist())  # TF Serving's default encoding
    ours = lite.PredictResponse.FromString(official.SerializeToString())
    assert ours.model_spec.version.value == 3 and ours.model_spec.signature_name == "forecast"
    np.testing.assert_array_equal(decode(ours.outputs["forecast"]), values)


@pytest.mark.parametrize(
    "array",
    [
        np.array([[1.5, -2.0]], dtype=np.float32),
        np.array([3, 4, 5], dtype=np.int32),
        np.array([[7]], dtype=np.int64),
        np.array([0.25, 1e300], dtype=np.float64),
        np.array([True, False, True]),
    ],
)
def test_tensor_round_trip_both_ways(array: np.ndarray) -> None:
    official = tf.make_tensor_proto(array)
    np.testing.assert_array_equal(decode(lite.TensorProto.FromString(official.SerializeToString())), array)
    back = tf.make_ndarray(type(official).FromString(encode(array).SerializeToString()))
    np.testing.assert_array_equal(back, array)


def test_scalar_fill_rule() -> None:
    proto = tf.make_tensor_proto(np.float32(2.5), shape=[3])  # one value fills the tensor
    np.testing.assert_array_equal(decode(lite.TensorProto.FromString(proto.SerializeToString())), [2.5, 2.5, 2.5])


def test_model_status_messages() -> None:
    official = get_model_status_pb2.GetModelStatusResponse()
    for v, state in [(1, 30), (2, 20)]:
        s = official.model_version_status.add()
        s.version = v
        s.state = state
        s.status.error_message = "ok"
    ours = lite.GetModelStatusResponse.FromString(official.SerializeToString())
    assert [(s.version, s.state) for s in ours.model_version_status] == [
        (1, lite.ModelVersionStatus.AVAILABLE),
        (2, lite.ModelVersionStatus.LOADING),
    ]
    req = lite.GetModelStatusRequest()
    req.model_spec.name = "aapl"
    assert get_model_status_pb2.GetModelStatusRequest.FromString(req.SerializeToString()).model_spec.name == "aapl"


@pytest.mark.parametrize("content", [False, True])
def test_official_bool_tensors_parse_as_ours(content: bool) -> None:
    values = np.array([True, False, True])
    proto = tf.make_tensor_proto(values)
    if not content:
        proto = tf.make_tensor_proto([0])
        proto.dtype = tf.bool.as_datatype_enum
        proto.ClearField("int_val")
        proto.tensor_shape.dim[0].size = 3
        proto.bool_val.extend(values.tolist())  # what TF Serving sends by default
    ours = lite.TensorProto.FromString(proto.SerializeToString())
    np.testing.assert_array_equal(decode(ours), values)
    np.testing.assert_array_equal(tf.make_ndarray(tf.make_tensor_proto(decode(ours))), values)


def test_official_string_tensors_parse_as_ours() -> None:
    texts = [b'{"model": "aapl"}', "caf\u00e9 \u2713".encode()]
    ours = lite.TensorProto.FromString(tf.make_tensor_proto(texts).SerializeToString())
    assert decode(ours).tolist() == texts
    fill = tf.make_tensor_proto(b"same", shape=[3])
    assert decode(lite.TensorProto.FromString(fill.SerializeToString())).tolist() == [b"same"] * 3
