"""Scale-out end to end: two facade processes in empty folders, over two TF Serving replicas, sharing state.

Each facade is ``python -m facade`` started in an empty working directory (no
``models/``, no key file), on the tfserving backend pointed at two local
TF Serving-API servers through one round_robin target, with its keys in
PostgreSQL and its quotas in Redis. Together they serve every forecast route,
follow a version published to both servers, survive one server's death under
load, and share keys, revocations and quotas.
"""

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

from export.exporter import republish_version
from loadtest import procs
from tests.conftest import SMALL
from tests.facade.conftest import ADMIN
from tests.facade.test_resilience import wait_for
from tests.facade.test_scale_out import Replica

pytestmark = pytest.mark.slow
PRICES = [150.0 + 0.3 * i + (i % 7) for i in range(SMALL.window + 5)]
CSV = (
    "Date,Close\n" + "".join(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{p}\n" for i, p in enumerate(PRICES))
).encode()
CACHE_S = 1.0


@contextmanager
def facade_in(folder: Path, target: str, **settings: str) -> Iterator[str]:
    folder.mkdir()
    port = procs.free_port()
    env = {
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "FACADE_ADMIN_TOKEN": ADMIN,
        "FACADE_BACKEND": "tfserving",
        "FACADE_TFSERVING_ADDRESS": target,
        "FACADE_MODELS": "aapl",
        "FACADE_PORT": str(port),
        "FACADE_VERSION_REFRESH_S": "0.2",
        "FACADE_KEY_CACHE_S": str(CACHE_S),
        **{f"FACADE_{k.upper()}": v for k, v in settings.items()},
    }
    with procs.process([sys.executable, "-m", "facade"], env=env, log=folder.parent / f"{folder.name}.log", cwd=folder):
        procs.wait_http(f"http://127.0.0.1:{port}/ready", timeout=60)
        yield f"http://127.0.0.1:{port}"


def test_two_facades_in_empty_folders_over_two_servers(
    models_dir: Path, tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    replicas = [Replica(models_dir, tmp_path / name) for name in ("server-a", "server-b")]
    target = "ipv4:" + ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    shared = {"keys_url": postgres_url, "rate_limit_storage": redis_url, "rate_limit_per_key": "1000000/minute"}
    admin = {"x-admin-token": ADMIN}
    try:
        with facade_in(tmp_path / "one", target, **shared) as one, facade_in(tmp_path / "two", target, **shared) as two:
            key = httpx2.post(f"{one}/generate_api_key", headers=admin).json()["api_key"]
            auth = {"x-api-key": key}

            # Every forecast route, from a facade that has no model folder.
            assert [v["version"] for v in httpx2.get(f"{two}/models").json()["models"]["aapl"]] == [1, 2]
            r = httpx2.post(f"{two}/predict", headers=auth, json={"prices": PRICES, "steps": 3})
            assert r.status_code == 200 and r.json()["version"] == 2 and set(r.json()["intervals"]) == {"80", "95"}
            r = httpx2.post(f"{two}/predict_csv", headers=auth, files={"file": ("p.csv", CSV)}, data={"steps": "2"})
            assert r.status_code == 200 and len(r.json()["forecast"]) == 2
            assert not list((tmp_path / "one").iterdir()) and not list((tmp_path / "two").iterdir())

            # A version published to both servers is followed by both facades.
            for replica in replicas:
                republish_version(replica.base / "aapl", replica.base / "aapl" / "1")
            for base in (one, two):
                wait_for(
                    lambda b=base: (
                        httpx2.post(f"{b}/predict", headers=auth, json={"prices": PRICES}).json()["version"] == 3
                    )
                )

            # One server dies under load from both facades: only requests in flight on it may fail.
            results: list[int] = []
            stop = threading.Event()

            def load(base: str) -> None:
                with httpx2.Client(timeout=30) as client:
                    while not stop.is_set():
                        results.append(
                            client.post(f"{base}/predict", headers=auth, json={"prices": PRICES}).status_code
                        )

            workers = [threading.Thread(target=load, args=(b,)) for b in (one, two, one, two)]
            for w in workers:
                w.start()
            try:
                wait_for(lambda: len(results) > 20)
                replicas[1].stop()
                killed_at = len(results)
                wait_for(lambda: len(results) > killed_at + 40)
            finally:
                stop.set()
                for w in workers:
                    w.join()
            assert sum(status != 200 for status in results) <= len(workers), results
            assert all(status == 200 for status in results[killed_at + 2 * len(workers) :])

            # Keys, revocations and quotas are shared through PostgreSQL and Redis.
            minted = httpx2.post(f"{two}/generate_api_key", headers=admin, json={"name": "shared"}).json()
            shared_key = {"x-api-key": minted["api_key"]}
            remaining = []
            for base in (one, two, one, two):  # minted on two, used on both: one key, one quota
                r = httpx2.post(f"{base}/predict", headers=shared_key, json={"prices": PRICES})
                assert r.status_code == 200, r.text
                remaining.append(int(r.headers["ratelimit-remaining"]))
            assert remaining == [remaining[0] - i for i in range(4)]
            assert httpx2.delete(f"{two}/api_keys/{minted['id']}", headers=admin).status_code == 200
            time.sleep(CACHE_S + 0.1)
            refused = httpx2.post(f"{one}/predict", headers=shared_key, json={"prices": PRICES})
            assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    finally:
        for replica in replicas:
            replica.stop()
