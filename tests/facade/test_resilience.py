"""Backend down -> 503 and recovery without restart; timeouts -> 504; version rolls under traffic."""

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from fastapi.testclient import TestClient
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    prediction_service_pb2_grpc,
)

from common.contract import METADATA_SIGNATURE
from export.exporter import export_run
from export.versions import retire
from facade.app import create_app
from facade.backends.tfs_client import TFServingClient
from facade.errors import InferenceError
from loadtest.procs import free_port
from modelserver.grpc_server import PredictionService, serve
from modelserver.repository import ModelRepository
from tests.conftest import SMALL
from tests.facade.conftest import assert_answer, expected_answer, make_settings, mint
from training.pipeline import RunResult

pytestmark = pytest.mark.slow
PRICES = [150.0 + 0.3 * i + (i % 7) for i in range(SMALL.window + 5)]


def wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_backend_down_gives_503_and_the_facade_recovers(models_dir: Path, tmp_path: Path) -> None:
    repo = ModelRepository(models_dir)
    repo.refresh()
    port = free_port()
    server, _ = serve(repo, address=f"127.0.0.1:{port}")
    settings = make_settings(tmp_path, models_dir, backend="tfserving", tfserving_address=f"127.0.0.1:{port}")
    with TestClient(create_app(settings)) as client:
        key = mint(client)
        headers = {"x-api-key": key}
        assert client.post("/predict", headers=headers, json={"prices": PRICES}).status_code == 200

        server.stop(grace=None).wait()
        r = client.post("/predict", headers=headers, json={"prices": PRICES})
        assert r.status_code == 503, r.text
        assert "unavailable" in r.json()["detail"] and r.headers["retry-after"] == "1"
        wait_for(lambda: client.get("/ready").status_code == 503)
        assert client.get("/").json()["backend"]["reachable"] is False

        server, _ = serve(repo, address=f"127.0.0.1:{port}")  # TF Serving comes back
        try:
            wait_for(lambda: client.post("/predict", headers=headers, json={"prices": PRICES}).status_code == 200)
            wait_for(lambda: client.get("/ready").status_code == 200)
            assert client.get("/").json()["status"] == "ok"
        finally:
            server.stop(grace=None)


class SlowPredict(prediction_service_pb2_grpc.PredictionServiceServicer):
    def Predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        time.sleep(2)
        context.abort(grpc.StatusCode.INTERNAL, "too late")


class AlwaysAvailable(model_service_pb2_grpc.ModelServiceServicer):
    def GetModelStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        reply = get_model_status_pb2.GetModelStatusResponse()
        s = reply.model_version_status.add()
        s.version, s.state = 2, get_model_status_pb2.ModelVersionStatus.AVAILABLE
        return reply


class FailingPredict(PredictionService):
    """The real servicer for the metadata signature, an internal failure for every forecast."""

    def Predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.model_spec.signature_name == METADATA_SIGNATURE:
            return super().Predict(request, context)
        context.abort(grpc.StatusCode.INTERNAL, "OOM in /srv/secret/models/aapl/2 on node tfs-7 (kernel panic)")


def _grpc_server(servicer: prediction_service_pb2_grpc.PredictionServiceServicer) -> tuple[grpc.Server, str]:
    from concurrent import futures

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(AlwaysAvailable(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
def slow_server() -> Iterator[str]:
    server, target = _grpc_server(SlowPredict())
    yield target
    server.stop(grace=None)


def test_a_backend_failure_gives_502_without_its_internals(
    models_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repo = ModelRepository(models_dir)
    repo.refresh()
    server, target = _grpc_server(FailingPredict(repo))
    try:
        settings = make_settings(tmp_path, models_dir, backend="tfserving", tfserving_address=target)
        with TestClient(create_app(settings)) as client:
            r = client.post("/predict", headers={"x-api-key": mint(client)}, json={"prices": PRICES})
    finally:
        server.stop(grace=None)
    assert r.status_code == 502
    body = r.json()
    assert body == {
        "error": "inference_error",
        "detail": f"the model backend failed this request (request id {body['request_id']})",
        "request_id": body["request_id"],
    }
    # The operator's log has what happened, under the same request id.
    logged = [rec for rec in caplog.records if getattr(rec, "request_id", None) == body["request_id"]]
    assert any("/srv/secret/models" in rec.getMessage() for rec in logged)


def test_calls_wait_for_their_replies_together_and_off_the_event_loop(slow_server: str) -> None:
    """The light client's calls wait for their replies off the event loop: the loop keeps running, calls overlap."""

    async def four_calls() -> tuple[list[Any], int, float]:
        client = TFServingClient(slow_server, timeout_s=10)
        inputs = {"window": np.zeros((1, SMALL.window, 1), dtype=np.float32)}
        try:
            start = time.monotonic()
            calls = [
                asyncio.create_task(
                    client.predict("aapl", version=2, signature="serving_default", inputs=inputs, outputs=["next"])
                )
                for _ in range(4)
            ]
            ticks = 0
            while not all(call.done() for call in calls):
                await asyncio.sleep(0.01)
                ticks += 1
            results = await asyncio.gather(*calls, return_exceptions=True)
            return results, ticks, time.monotonic() - start
        finally:
            await client.close()

    results, ticks, elapsed = asyncio.run(four_calls())
    assert all(isinstance(r, InferenceError) for r in results), results  # the server's INTERNAL, mapped
    assert ticks > 50  # the event loop ran all along the 2 s the server took
    assert elapsed < 3.5  # together: one after the other would take 8 s


def test_upstream_timeout_gives_504(slow_server: str, models_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, models_dir, backend="tfserving", tfserving_address=slow_server, request_timeout_s=0.3
    )
    with TestClient(create_app(settings)) as client:
        r = client.post("/predict", headers={"x-api-key": mint(client)}, json={"prices": PRICES})
    assert r.status_code == 504
    detail = r.json()["detail"]
    assert "did not answer" in detail and slow_server not in detail and "too late" not in detail


@pytest.mark.parametrize("kind", ["embedded", "tfserving"])
def test_version_roll_under_traffic(kind: str, models_dir: Path, small_run: RunResult, tmp_path: Path) -> None:
    base = tmp_path / "models"
    shutil.copytree(models_dir, base)
    expected = {v: expected_answer(models_dir, v, PRICES, 3) for v in (1, 2)}
    expected[3] = expected[1]  # version 3 is re-exported from version 1's run
    bands = [expected[v]["intervals"]["95"]["upper"] for v in (1, 2)]
    assert not np.allclose(*bands, rtol=1e-4)  # the versions really differ

    server = repo = None
    extra: dict[str, Any] = {}
    if kind == "tfserving":
        repo = ModelRepository(base)
        repo.refresh()
        repo.start_polling(0.2)
        server, port = serve(repo)
        extra = {"backend": "tfserving", "tfserving_address": f"127.0.0.1:{port}"}
    # Loop mode: the facade scales with the pinned version's scaler itself, the pairing under test.
    settings = make_settings(tmp_path, base, forecast_mode="loop", **extra)
    responses: list[tuple[int, dict[str, Any]]] = []
    stop = threading.Event()
    try:
        with TestClient(create_app(settings)) as client:
            headers = {"x-api-key": mint(client)}

            def traffic() -> None:
                while not stop.is_set():
                    r = client.post("/predict", headers=headers, json={"prices": PRICES, "steps": 3})
                    responses.append((r.status_code, r.json()))

            worker = threading.Thread(target=traffic)
            worker.start()
            try:
                wait_for(lambda: len(responses) > 5)
                export_run(small_run.run_dir, base)  # publishes version 3 while requests flow
                wait_for(lambda: responses and responses[-1][1].get("version") == 3)
                n_after_roll = len(responses)
                retire(base / "aapl", 3)  # roll back
                wait_for(lambda: len(responses) > n_after_roll + 3 and responses[-1][1].get("version") == 2)
            finally:
                stop.set()
                worker.join()
    finally:
        if server is not None:
            server.stop(grace=None)
        if repo is not None:
            repo.stop()

    assert [s for s, _ in responses if s != 200] == []
    versions = [body["version"] for _, body in responses]
    assert versions[0] == 2 and 3 in versions and versions[-1] == 2
    for _, body in responses:
        # Each answer was computed by the version it names, with that version's scaler.
        assert_answer(body, expected[body["version"]], rtol=1e-5)
