"""``python -m facade`` with two workers: ``/metrics`` counts every worker's requests."""

import os
import re
from pathlib import Path

import pytest

from loadtest.procs import facade, free_port, mint_key, wait_http
from tests.monitoring.conftest import http, sample

pytestmark = pytest.mark.slow


def test_two_workers_share_their_metrics(models_dir: Path, grpc_target: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "FACADE_WORKERS": "2",
        "FACADE_BACKEND": "tfserving",
        "FACADE_TFSERVING_ADDRESS": grpc_target,
        "FACADE_MODELS_DIR": str(models_dir),
        "FACADE_KEYS_URL": f"sqlite:///{tmp_path / 'keys.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    (metrics_dir).mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left by an earlier run")
    with facade(port, env=env, log=tmp_path / "facade.log") as proc:
        wait_http(f"{base}/ready", timeout=120)
        key = mint_key(base)
        prices = [150.0 + 0.1 * i for i in range(40)]
        n = 40
        for _ in range(n):
            status, _ = http("POST", f"{base}/predict", body={"prices": prices, "steps": 2}, headers={"x-api-key": key})
            assert status == 200
        for _ in range(3):
            assert http("POST", f"{base}/predict", body={"prices": prices}, headers={"x-api-key": "wrong"})[0] == 401

        writers = {
            int(m.group(1)) for p in metrics_dir.glob("counter_*.db") if (m := re.search(r"_(\d+)\.db$", p.name))
        }
        assert 999999 not in writers  # the stale file was cleared before the workers started
        workers = {pid for pid in writers if Path(f"/proc/{pid}").exists() and pid != proc.pid}
        assert len(workers) == 2, f"requests did not reach both workers: {writers}"

        # Whichever worker answers the scrape, it reports every worker's requests.
        for _ in range(6):
            status, body = http("GET", f"{base}/metrics")
            assert status == 200
            text = body.decode()
            assert sample(text, "facade_requests_total", endpoint="/predict", status="200") == n
            assert sample(text, "facade_requests_total", endpoint="/predict", status="401") == 3
            assert sample(text, "facade_stage_seconds_count", stage="inference") == n
            assert sample(text, "facade_drift_window_outside_count", model="aapl", version="2") == n
            assert sample(text, "facade_model_version_served", model="aapl") == 2
            assert sample(text, "facade_model_versions_available", model="aapl") == 2
            assert sample(text, "facade_backend_up") == 1
            pids = set(re.findall(r'process_resident_memory_bytes\{pid="(\d+)"\}', text))
            assert {int(p) for p in pids} == workers
    assert not list(metrics_dir.glob("*.db")), "the entry point leaves no metric files behind"
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None
