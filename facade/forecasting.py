"""The multi-step loop: feed each one-step prediction back into the window.

No I/O of its own: the one-step predictor is passed in (a gRPC call to TF
Serving, or the embedded batcher), so the loop is the same for both backends
and is tested with plain functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
PredictNext = Callable[[F32], Awaitable[F32]]


def slide(window: F32, value: F32) -> F32:
    """Drops the oldest day of ``[batch, W, 1]`` windows and appends ``value`` (``[batch, 1]``)."""
    return np.concatenate([window[:, 1:, :], value.reshape(-1, 1, 1).astype(np.float32)], axis=1)


async def recursive_forecast(windows: F32, *, steps: int, predict: PredictNext) -> F32:
    """Forecasts ``steps`` scaled values for each ``[batch, W, 1]`` window.

    The same loop as :func:`training.evaluate.recursive_forecast` (same arguments),
    awaiting each step, since a step here is a call to a backend.

    Returns:
        ``[batch, steps]`` scaled forecasts.
    """
    out = np.empty((windows.shape[0], steps), dtype=np.float32)
    current = windows
    for k in range(steps):
        nxt = np.asarray(await predict(current), dtype=np.float32).reshape(-1, 1)
        out[:, k] = nxt[:, 0]
        if k + 1 < steps:
            current = slide(current, nxt)
    return out
