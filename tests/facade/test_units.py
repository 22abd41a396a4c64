import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler

from facade.batching import MicroBatcher
from facade.config import Settings
from facade.forecasting import recursive_forecast, slide
from facade.scaling import MinMax


def test_minmax_equals_sklearn() -> None:
    prices = np.array([17.1, 30.5, 250.0, 99.9]).reshape(-1, 1)
    sk = MinMaxScaler().fit(prices[:3])
    ours = MinMax(float(sk.data_min_[0]), float(sk.data_max_[0]))
    np.testing.assert_allclose(ours.transform(prices[:, 0]), sk.transform(prices)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(ours.inverse(ours.transform(prices[:, 0])), prices[:, 0], rtol=1e-12)


def test_slide_and_loop() -> None:
    window = np.array([[[1.0], [2.0], [3.0]]], dtype=np.float32)
    assert slide(window, np.array([[9.0]], dtype=np.float32))[0, :, 0].tolist() == [2.0, 3.0, 9.0]
    seen: list[list[float]] = []

    async def mean(w: np.ndarray) -> np.ndarray:
        seen.append(w[0, :, 0].tolist())
        return w.mean(axis=1)

    out = asyncio.run(recursive_forecast(window, 3, mean))
    assert out[0].tolist() == pytest.approx([2.0, 2.3333333, 2.4444444])
    assert seen == [[1.0, 2.0, 3.0], [2.0, 3.0, 2.0], [3.0, 2.0, pytest.approx(2.3333333)]]


def test_batcher_groups_concurrent_requests_and_routes_results() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        gate.wait(1.0)  # hold the first batch so that the others queue up
        calls.append(len(inputs["x"]))
        return inputs["x"] * 10

    batcher = MicroBatcher(run, max_batch=32)

    async def main() -> list[np.ndarray]:
        tasks = [asyncio.create_task(batcher.submit({"x": np.array([[float(i)]])})) for i in range(20)]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    batcher.close()
    assert [r[0, 0] for r in results] == [i * 10.0 for i in range(20)]
    assert sum(calls) == 20 and len(calls) < 20  # fewer model calls than requests


def test_batcher_delivers_errors_to_every_caller() -> None:
    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        raise ValueError("bad batch")

    batcher = MicroBatcher(run)

    async def main() -> None:
        with pytest.raises(ValueError, match="bad batch"):
            await batcher.submit({"x": np.zeros((1, 1))})

    asyncio.run(main())
    batcher.close()


def test_missing_admin_token_stops_startup_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FACADE_ADMIN_TOKEN is not set"):
        Settings(_env_file=None).check_startup()  # type: ignore[call-arg]
    # In an empty folder (no .env) with no FACADE_* variables: the real entry point refuses to start.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-m", "facade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "FACADE_ADMIN_TOKEN is not set" in proc.stderr


def test_tfserving_backend_needs_an_address() -> None:
    s = Settings(_env_file=None, admin_token="x" * 20, backend="tfserving")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="FACADE_TFSERVING_ADDRESS"):
        s.check_startup()


def test_auto_backend() -> None:
    assert Settings(_env_file=None).backend_kind == "embedded"  # type: ignore[call-arg]
    assert Settings(_env_file=None, tfserving_address="tfs:8500").backend_kind == "tfserving"  # type: ignore[call-arg]
