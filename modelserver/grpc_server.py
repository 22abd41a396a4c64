"""A TF Serving stand-in that speaks TF Serving's real gRPC API.

Built on the official ``tensorflow-serving-api`` servicers over
:class:`modelserver.repository.ModelRepository`: it serves the same version
folders, answers ``Predict`` (naming the version that answered),
``GetModelMetadata`` and ``GetModelStatus`` with TF Serving's status codes.
It exists for the tests and for load tests on machines without Docker; in
production run the real ``tensorflow/serving`` image (docker-compose.yml).

    python -m modelserver --models-dir models --port 8500
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from common.contract import DEFAULT_SIGNATURE, SAVED_MODEL_FILE
from modelserver.repository import LoadedVersion, ModelRepository, ServableNotFound, UnknownLabel

logger = logging.getLogger(__name__)

_FIELDS: dict[Any, tuple[int, str]] = {
    np.dtype(np.float32): (types_pb2.DT_FLOAT, "float_val"),
    np.dtype(np.float64): (types_pb2.DT_DOUBLE, "double_val"),
    np.dtype(np.int32): (types_pb2.DT_INT32, "int_val"),
    np.dtype(np.int64): (types_pb2.DT_INT64, "int64_val"),
    np.dtype(np.bool_): (types_pb2.DT_BOOL, "bool_val"),
    np.dtype(object): (types_pb2.DT_STRING, "string_val"),  # TensorFlow's strings come back as bytes objects
}


def to_tensor_proto(array: npt.NDArray[Any], *, tensor_content: bool = False) -> tensor_pb2.TensorProto:
    """Encodes an array as TF Serving does: typed ``*_val`` fields, or raw ``tensor_content`` (not for strings)."""
    dtype, field = _FIELDS[array.dtype]
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in array.shape])
    proto = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape)
    if tensor_content and dtype != types_pb2.DT_STRING:
        proto.tensor_content = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    else:
        getattr(proto, field).extend(array.ravel().tolist())
    return proto


def _error_text(exc: Exception) -> str:
    """The informative line of a TensorFlow error (eager errors start with 'Graph execution error:')."""
    text = exc.message if isinstance(exc, tf.errors.OpError) else str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    noise = ("Graph execution error", "Detected at node", "<stack traces", "[[", "File ")
    useful = [ln for ln in lines if not ln.startswith(noise)]
    return (useful or lines or [type(exc).__name__])[0]


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict and GetModelMetadata over a :class:`ModelRepository`."""

    def __init__(self, repo: ModelRepository, *, tensor_content: bool = False) -> None:
        self.repo = repo
        self.tensor_content = tensor_content

    def _servable(self, spec: Any, context: grpc.ServicerContext) -> LoadedVersion:
        version = spec.version.value if spec.HasField("version") else None
        try:
            if spec.HasField("version_label"):
                version = self.repo.resolve(spec.name, spec.version_label)
            return self.repo.get(spec.name, version)
        except UnknownLabel as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except ServableNotFound as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        raise AssertionError("unreachable: abort raises")

    def Predict(
        self, request: predict_pb2.PredictRequest, context: grpc.ServicerContext
    ) -> predict_pb2.PredictResponse:
        servable = self._servable(request.model_spec, context)
        signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
        if signature not in servable.signature_names:
            message = f'Serving signature name: "{signature}" not found in signature def'
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
        try:
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            outputs = servable.run(signature, inputs)
        except (ValueError, TypeError, tf.errors.InvalidArgumentError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, _error_text(exc))
        wanted = list(request.output_filter) or list(outputs)
        unknown = [k for k in wanted if k not in outputs]
        if unknown:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"output tensor alias not found in signature: {unknown[0]}")
        response = predict_pb2.PredictResponse()
        response.model_spec.name = servable.model
        response.model_spec.version.value = servable.version
        response.model_spec.signature_name = signature
        for key in wanted:
            response.outputs[key].CopyFrom(to_tensor_proto(outputs[key], tensor_content=self.tensor_content))
        return response

    def GetModelMetadata(
        self, request: get_model_metadata_pb2.GetModelMetadataRequest, context: grpc.ServicerContext
    ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        servable = self._servable(request.model_spec, context)
        if list(request.metadata_field) != ["signature_def"]:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Metadata field signature_def is the only one supported")
        saved = saved_model_pb2.SavedModel()
        saved.ParseFromString((servable.path / SAVED_MODEL_FILE).read_bytes())
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        for name, sig in saved.meta_graphs[0].signature_def.items():
            if not name.startswith("__"):
                sig_map.signature_def[name].CopyFrom(sig)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = servable.model
        response.model_spec.version.value = servable.version
        response.metadata["signature_def"].Pack(sig_map)
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    """GetModelStatus: loaded versions are AVAILABLE."""

    def __init__(self, repo: ModelRepository) -> None:
        self.repo = repo

    def GetModelStatus(
        self, request: get_model_status_pb2.GetModelStatusRequest, context: grpc.ServicerContext
    ) -> get_model_status_pb2.GetModelStatusResponse:
        spec = request.model_spec
        versions = self.repo.versions(spec.name)
        if spec.HasField("version"):
            versions = [v for v in versions if v == spec.version.value]
        if not versions:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {spec.name}")
        response = get_model_status_pb2.GetModelStatusResponse()
        for v in versions:
            status = response.model_version_status.add()
            status.version = v
            status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
        return response


def serve(
    repo: ModelRepository,
    *,
    address: str = "127.0.0.1:0",
    workers: int = 8,
    tensor_content: bool = False,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
) -> tuple[grpc.Server, int]:
    """Starts the gRPC server; returns it and the bound port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers), interceptors=interceptors)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(repo, tensor_content=tensor_content), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(repo), server)
    port = server.add_insecure_port(address)
    server.start()
    return server, port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="like --file_system_poll_wait_seconds")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--tensor-content", action="store_true", help="encode outputs as tensor_content")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    repo = ModelRepository(args.models_dir)
    repo.refresh()
    repo.start_polling(args.poll_seconds)
    server, port = serve(
        repo, address=f"{args.host}:{args.port}", workers=args.workers, tensor_content=args.tensor_content
    )
    logger.info("serving %s on %s:%d", repo.model_names(), args.host, port)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=2))
    server.wait_for_termination()
    repo.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
