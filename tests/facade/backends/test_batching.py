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
