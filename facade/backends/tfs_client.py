"""A light asyncio client for TF Serving's gRPC API that imports no TensorFlow.

Messages come from ``facade/protos/tfs_lite.proto`` (TF Serving's field
numbers); the method paths are TF Serving's real ones. Every call has an
explicit deadline, and ``grpc.RpcError`` is translated into the facade's
errors in one place (:func:`map_rpc_error`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt

from common.contract import METADATA_OUTPUT, METADATA_SIGNATURE, PROBE_INPUT, PROBE_TENSOR
from common.metadata import MetadataError, VersionMetadata, parse_metadata
from facade.errors import FacadeError, InferenceError, ModelUnavailable, UpstreamTimeout, VersionGone
from facade.protos import tfs_lite_pb2 as pb

PREDICT = "/tensorflow.serving.PredictionService/Predict"
GET_MODEL_STATUS = "/tensorflow.serving.ModelService/GetModelStatus"

_DTYPES: dict[Any, tuple[Any, str]] = {
    np.dtype(np.float32): (pb.DT_FLOAT, "float_val"),
    np.dtype(np.float64): (pb.DT_DOUBLE, "double_val"),
    np.dtype(np.int32): (pb.DT_INT32, "int_val"),
    np.dtype(np.int64): (pb.DT_INT64, "int64_val"),
    np.dtype(np.bool_): (pb.DT_BOOL, "bool_val"),
}
# Per TensorProto dtype: the native NumPy dtype, its little-endian form (tensor_content's byte order), the typed field.
_NATIVE = {enum: dtype for dtype, (enum, _) in _DTYPES.items()}
_LITTLE = {enum: dtype.newbyteorder("<") for enum, dtype in _NATIVE.items()}
_FIELD = {enum: field for enum, field in _DTYPES.values()}


def encode(array: npt.NDArray[Any], into: pb.TensorProto | None = None) -> pb.TensorProto:
    """Encodes an array as ``tensor_content`` (little-endian bytes), which TF Serving reads fastest.

    Args:
        array: the tensor's values.
        into: an empty TensorProto to fill (a request's input, filled in place); a new one by default.
    """
    kind, _ = _DTYPES[array.dtype]
    proto = pb.TensorProto() if into is None else into
    proto.dtype = kind
    proto.tensor_content = np.ascontiguousarray(array, dtype=_LITTLE[kind]).tobytes()
    dims = proto.tensor_shape.dim
    for size in array.shape:
        dims.add(size=size)
    return proto


def decode(proto: pb.TensorProto) -> npt.NDArray[Any]:
    """Decodes a TensorProto carrying ``tensor_content`` or the typed ``*_val`` field (strings: ``bytes`` objects).

    Every reply goes through here, on the event loop: a handful of NumPy calls per tensor, no more.
    """
    shape = [d.size for d in proto.tensor_shape.dim]
    kind = proto.dtype
    if kind == pb.DT_STRING:  # never in tensor_content
        strings = np.empty(len(proto.string_val), dtype=object)
        strings[:] = list(proto.string_val)
        return _fill(strings, shape)
    native = _NATIVE.get(kind)
    if native is None:
        raise InferenceError(f"unsupported tensor dtype {kind} in TF Serving's reply")
    content = proto.tensor_content
    if content:
        # A copy in native byte order: frombuffer's array would be read-only and keep the reply alive.
        return np.frombuffer(content, dtype=_LITTLE[kind]).astype(native).reshape(shape)
    return _fill(np.array(getattr(proto, _FIELD[kind]), dtype=native), shape)


def _fill(values: npt.NDArray[Any], shape: list[int]) -> npt.NDArray[Any]:
    """TensorFlow's rule for the typed fields: a single value fills the whole tensor."""
    if values.size == 1:
        count = math.prod(shape)
        if count > 1:
            return np.full(count, values[0], dtype=values.dtype).reshape(shape)
    return values.reshape(shape)


def map_rpc_error(exc: grpc.RpcError, *, target: str, what: str) -> FacadeError:
    """Translates a gRPC failure into the facade error a client should see."""
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return UpstreamTimeout(f"TF Serving at {target} did not answer {what} in time")
    if code == grpc.StatusCode.NOT_FOUND:
        return VersionGone(f"TF Serving at {target} has no {what}: {details}")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED):
        return ModelUnavailable(f"TF Serving at {target} is unavailable ({code.name}): {details}")
    return InferenceError(f"TF Serving at {target} failed {what} ({code.name if code else 'error'}): {details}")


# Client-side load balancing and retries (gRPC service config). round_robin spreads calls over every address
# the target resolves to: with `dns:///<headless service>:8500`, every TF Serving pod. A call that fails with
# UNAVAILABLE (a pod going away) or NOT_FOUND (a replica that has not loaded the pinned version yet) is retried,
# and round_robin sends the retry to the next address. Everything else fails at once.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [{"service": PREDICT.split("/")[1]}, {"service": GET_MODEL_STATUS.split("/")[1]}],
            "retryPolicy": {
                "maxAttempts": 3,
                "initialBackoff": "0.01s",
                "maxBackoff": "0.1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE", "NOT_FOUND"],
            },
        }
    ],
}


class TFServingClient:
    """One channel, opened once and reused; closed with :meth:`close`."""

    def __init__(self, target: str, *, timeout_s: float) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self.channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
                ("grpc.enable_retries", 1),
                # Reconnect quickly when TF Serving comes back, instead of backing off for minutes.
                ("grpc.initial_reconnect_backoff_ms", 250),
                ("grpc.min_reconnect_backoff_ms", 250),
                ("grpc.max_reconnect_backoff_ms", 2000),
                # Keepalive pings on busy connections find a dead pod in seconds, not at the TCP timeout.
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.keepalive_timeout_ms", 10_000),
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
            ],
        )
        self._predict = self.channel.unary_unary(
            PREDICT,
            request_serializer=pb.PredictRequest.SerializeToString,
            response_deserializer=pb.PredictResponse.FromString,
        )
        self._status = self.channel.unary_unary(
            GET_MODEL_STATUS,
            request_serializer=pb.GetModelStatusRequest.SerializeToString,
            response_deserializer=pb.GetModelStatusResponse.FromString,
        )

    async def predict(
        self,
        model: str,
        *,
        version: int,
        signature: str,
        inputs: Mapping[str, npt.NDArray[Any]],
        outputs: Sequence[str],
    ) -> tuple[int, dict[str, npt.NDArray[Any]]]:
        """Calls Predict on a pinned version; returns the version that answered and the outputs asked for."""
        request = pb.PredictRequest(output_filter=list(outputs))
        request.model_spec.name = model
        request.model_spec.version.value = version
        request.model_spec.signature_name = signature
        for key, value in inputs.items():
            encode(value, into=request.inputs[key])
        try:
            reply = await self._predict(request, timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise map_rpc_error(exc, target=self.target, what=f"{model} version {version}") from exc
        missing = [name for name in outputs if name not in reply.outputs]
        if missing:
            raise InferenceError(f"TF Serving's reply lacks the outputs {missing}")
        return reply.model_spec.version.value, {name: decode(reply.outputs[name]) for name in outputs}

    async def metadata(self, model: str, version: int) -> VersionMetadata:
        """A served version's metadata, from its own ``metadata`` signature.

        Raises:
            MetadataError: the version has no such signature, or its metadata does not match the contract.
            VersionGone, ModelUnavailable, UpstreamTimeout: as for :meth:`predict`.
        """
        try:
            _, out = await self.predict(
                model,
                version=version,
                signature=METADATA_SIGNATURE,
                inputs={PROBE_INPUT: np.zeros(1, dtype=PROBE_TENSOR.dtype)},
                outputs=(METADATA_OUTPUT,),
            )
        except InferenceError as exc:
            raise MetadataError(
                f"{model} version {version} answers no {METADATA_SIGNATURE!r} signature ({exc.detail}); "
                "publish it again with this release's exporter"
            ) from exc
        meta = parse_metadata(bytes(out[METADATA_OUTPUT][0]), where=f"{model} version {version}'s metadata")
        if (meta.model, meta.version) != (model, version):
            raise MetadataError(f"{model} version {version} describes itself as {meta.model} version {meta.version}")
        return meta

    async def available_versions(self, model: str) -> list[int]:
        """Versions of ``model`` in state AVAILABLE, ascending; [] when it has none."""
        request = pb.GetModelStatusRequest()
        request.model_spec.name = model
        try:
            reply = await self._status(request, timeout=self.timeout_s)
        except grpc.RpcError as exc:
            mapped = map_rpc_error(exc, target=self.target, what=f"model {model}")
            if isinstance(mapped, VersionGone):
                return []
            raise mapped from exc
        return sorted(s.version for s in reply.model_version_status if s.state == pb.ModelVersionStatus.AVAILABLE)

    async def close(self) -> None:
        await self.channel.close()
