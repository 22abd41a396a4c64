import asyncio
import threading

import numpy as np
import pytest

from facade.backends.batching import MicroBatcher


def test_batcher_groups_concurrent_requests_and_routes_every_output() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        gate.wait(1.0)  # hold the first batch so that the others queue up
        calls.append(len(inputs["x"]))
        return {"ten": inputs["x"] * 10, "neg": -inputs["x"]}

    batcher = MicroBatcher(run, max_batch=32)

    async def main() -> list[dict[str, np.ndarray]]:
        tasks = [asyncio.create_task(batcher.submit({"x": np.array([[float(i)]])})) for i in range(20)]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    batcher.close()
    assert [r["ten"][0, 0] for r in results] == [i * 10.0 for i in range(20)]
    assert [r["neg"][0, 0] for r in results] == [-float(i) for i in range(20)]
    assert sum(calls) == 20 and len(calls) < 20  # fewer model calls than requests


def test_batcher_delivers_errors_to_every_caller() -> None:
    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise ValueError("bad batch")

    batcher = MicroBatcher(run)

    async def main() -> None:
        with pytest.raises(ValueError, match="bad batch"):
            await batcher.submit({"x": np.zeros((1, 1))})

    asyncio.run(main())
    batcher.close()


def test_closing_fails_what_is_queued_and_refuses_new_requests() -> None:
    started, release = threading.Event(), threading.Event()

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        started.set()
        release.wait(2.0)
        return {"y": inputs["x"]}

    batcher = MicroBatcher(run, max_batch=1)

    async def main() -> None:
        first = asyncio.create_task(batcher.submit({"x": np.ones((1, 1))}))
        second = asyncio.create_task(batcher.submit({"x": np.zeros((1, 1))}))  # queued behind the first
        await asyncio.to_thread(started.wait, 2.0)
        threading.Timer(0.1, release.set).start()
        batcher.close()  # waits for the batch in hand
        np.testing.assert_array_equal((await first)["y"], np.ones((1, 1)))
        with pytest.raises(RuntimeError, match="closed"):
            await second
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.submit({"x": np.ones((1, 1))})

    asyncio.run(main())
    assert not batcher._worker.is_alive()


def test_a_failing_batch_runs_each_request_alone() -> None:
    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if (inputs["x"] < 0).any():
            raise ValueError("negative row")
        return {"y": inputs["x"] * 2}

    batcher = MicroBatcher(run)

    async def main() -> list[object]:
        values = [1.0, -1.0, 3.0]
        tasks = [batcher.submit({"x": np.array([[v]])}) for v in values]
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    batcher.close()
    assert isinstance(results[1], ValueError)
    assert [r["y"][0, 0] for r in (results[0], results[2])] == [2.0, 6.0]  # type: ignore[index]
