import asyncio

import numpy as np
import pytest

from facade.forecasting import recursive_forecast, slide
from training.evaluate import recursive_forecast as training_recursive_forecast


def test_slide_drops_the_oldest_day_and_appends() -> None:
    window = np.array([[[1.0], [2.0], [3.0]]], dtype=np.float32)
    assert slide(window, np.array([[9.0]], dtype=np.float32))[0, :, 0].tolist() == [2.0, 3.0, 9.0]


def test_loop_feeds_each_prediction_back() -> None:
    window = np.array([[[1.0], [2.0], [3.0]]], dtype=np.float32)
    seen: list[list[float]] = []

    async def mean(w: np.ndarray) -> np.ndarray:
        seen.append(w[0, :, 0].tolist())
        return w.mean(axis=1)

    out = asyncio.run(recursive_forecast(window, steps=3, predict=mean))
    assert out[0].tolist() == pytest.approx([2.0, 2.3333333, 2.4444444])
    assert seen == [[1.0, 2.0, 3.0], [2.0, 3.0, 2.0], [3.0, 2.0, pytest.approx(2.3333333)]]


def test_the_facade_loop_equals_the_training_loop() -> None:
    windows = np.random.default_rng(0).uniform(0.2, 0.9, size=(4, 6, 1)).astype(np.float32)

    def predict(w: np.ndarray) -> np.ndarray:
        return (0.6 * w[:, -1, :] + 0.4 * w[:, 0, :]).astype(np.float32)

    async def apredict(w: np.ndarray) -> np.ndarray:
        return predict(w)

    ours = asyncio.run(recursive_forecast(windows, steps=7, predict=apredict))
    theirs = training_recursive_forecast(windows.astype(np.float64), steps=7, predict=predict)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
