"""One facade over two TF Serving replicas: round_robin, a replica's death, a staggered roll.

Two local TF Serving-API servers, each over its own models folder (as two pods
whose volumes are filled at different times would be), behind one channel to
``ipv4:a,b`` (in Kubernetes: ``dns:///`` of a headless Service).
"""

import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from export.exporter import republish_version
from facade.app import create_app
from modelserver.grpc_server import serve
from modelserver.repository import ModelRepository
from tests.conftest import SMALL
from tests.facade.conftest import make_settings, mint
from tests.facade.test_resilience import wait_for

pytestmark = pytest.mark.slow
PRICES = [150.0 + 0.3 * i + (i % 7) for i in range(SMALL.window + 5)]


class CountPredicts(grpc.ServerInterceptor):
    """Counts the Predict calls a server receives, by signature."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_service(self, continuation: Callable[..., Any], details: grpc.HandlerCallDetails) -> Any:
        if details.method.endswith("/Predict"):
            self.calls["predict"] += 1
        return continuation(details)


class Replica:
    """A TF Serving stand-in over its own copy of the models folder."""

    def __init__(self, source: Path, base: Path) -> None:
        shutil.copytree(source, base)
        self.base = base
        self.counter = CountPredicts()
        self.repo = ModelRepository(base)
        self.repo.refresh()
        self.repo.start_polling(0.2)
        self.server, self.port = serve(self.repo, interceptors=[self.counter])

    def stop(self) -> None:
        self.server.stop(grace=None).wait()
        self.repo.stop()


@pytest.fixture
def replicas(models_dir: Path, tmp_path: Path) -> Iterator[list[Replica]]:
    pair = [Replica(models_dir, tmp_path / name) for name in ("a", "b")]
    yield pair
    for replica in pair:
        replica.stop()


def facade(tmp_path: Path, replicas: list[Replica]) -> TestClient:
    target = "ipv4:" + ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    # No models folder: everything comes from the servers (a folder that does not exist proves it).
    settings = make_settings(
        tmp_path, tmp_path / "no-models-here", backend="tfserving", tfserving_address=target, models="aapl"
    )
    return TestClient(create_app(settings))


def traffic(client: TestClient, headers: dict[str, str], stop: threading.Event, out: list[Any]) -> None:
    while not stop.is_set():
        r = client.post("/predict", headers=headers, json={"prices": PRICES, "steps": 2})
        out.append((r.status_code, r.json()))


def test_traffic_splits_across_both_replicas(replicas: list[Replica], tmp_path: Path) -> None:
    with facade(tmp_path, replicas) as client:
        headers = {"x-api-key": mint(client)}
        before = [r.counter.calls["predict"] for r in replicas]
        for _ in range(40):
            assert client.post("/predict", headers=headers, json={"prices": PRICES}).status_code == 200
    served = [r.counter.calls["predict"] - b for r, b in zip(replicas, before, strict=True)]
    assert sum(served) >= 40 and min(served) >= 10, served  # round_robin: each replica takes about half


def test_a_dying_replica_costs_only_its_in_flight_requests(replicas: list[Replica], tmp_path: Path) -> None:
    responses: list[Any] = []
    stop = threading.Event()
    with facade(tmp_path, replicas) as client:
        headers = {"x-api-key": mint(client)}
        workers = [threading.Thread(target=traffic, args=(client, headers, stop, responses)) for _ in range(4)]
        for w in workers:
            w.start()
        try:
            wait_for(lambda: len(responses) > 20)
            replicas[1].stop()  # killed under load
            killed_at = len(responses)
            wait_for(lambda: len(responses) > killed_at + 40)
        finally:
            stop.set()
            for w in workers:
                w.join()
        assert client.get("/ready").status_code == 200
    failed = [status for status, _ in responses if status != 200]
    # At most the requests in flight on the dead replica (4 clients), and none once it is gone.
    assert len(failed) <= 4, failed
    assert all(status == 200 for status, _ in responses[killed_at + 8 :])


def test_a_version_on_one_replica_before_the_other_causes_no_failure(replicas: list[Replica], tmp_path: Path) -> None:
    responses: list[Any] = []
    stop = threading.Event()
    with facade(tmp_path, replicas) as client:
        headers = {"x-api-key": mint(client)}
        worker = threading.Thread(target=traffic, args=(client, headers, stop, responses))
        worker.start()
        try:
            wait_for(lambda: len(responses) > 10)
            republish_version(replicas[0].base / "aapl", replicas[0].base / "aapl" / "1")  # version 3 on a only
            wait_for(lambda: sum(1 for _, b in responses if b.get("version") == 3) > 20, timeout=30)
            republish_version(replicas[1].base / "aapl", replicas[1].base / "aapl" / "1")  # then on b
            wait_for(lambda: 3 in replicas[1].repo.versions("aapl"), timeout=30)
            seen = len(responses)
            # The facade sees b's version 3 at its next poll of the replicas (version_refresh_s), not at once.
            wait_for(lambda: len(responses) > seen + 10 and responses[-1][1].get("version") == 3, timeout=30)
        finally:
            stop.set()
            worker.join()
    assert [status for status, _ in responses if status != 200] == []
    versions = [body["version"] for _, body in responses]
    assert versions[0] == 2 and versions[-1] == 3
