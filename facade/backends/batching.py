"""Micro-batching: concurrent requests for the same model version share one model call.

Requests queue up while a batch runs; the worker thread then takes everything
queued (up to ``max_batch`` rows, waiting at most ``timeout_s`` for more) and
runs it as one batch. With ``timeout_s = 0`` it never waits: under load the
queue fills by itself while the previous batch runs, and a lone request pays
no delay. Results go back to each caller's event loop.

One bad row must not fail its neighbours: if a batch of several requests
fails, each request is run again alone, so only the guilty one gets the error.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Arrays = dict[str, npt.NDArray[Any]]
Run = Callable[[Arrays], Arrays]
_Item = tuple[Arrays, "asyncio.Future[Arrays]", asyncio.AbstractEventLoop]


class MicroBatcher:
    """Runs ``run`` on batches assembled from concurrent :meth:`submit` calls, in one thread."""

    def __init__(self, run: Run, *, max_batch: int = 32, timeout_s: float = 0.0, name: str = "batcher") -> None:
        self.run = run
        self.max_batch = max_batch
        self.timeout_s = timeout_s
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    async def submit(self, inputs: Arrays) -> Arrays:
        """Queues rows (every input shares the leading batch axis); returns their rows of every output."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Arrays] = loop.create_future()
        self._queue.put((inputs, future, loop))
        return await future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            rows = _rows(first[0])
            deadline = time.monotonic() + self.timeout_s
            stop = False
            while rows < self.max_batch:
                try:
                    remaining = deadline - time.monotonic()
                    item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                items.append(item)
                rows += _rows(item[0])
            self._run_batch(items)
            if stop:
                return

    def _run_batch(self, items: list[_Item]) -> None:
        keys = items[0][0].keys()
        try:
            batch = {k: np.concatenate([inputs[k] for inputs, _, _ in items], axis=0) for k in keys}
            output = self.run(batch)
        except Exception as exc:
            if len(items) == 1:
                _, future, loop = items[0]
                loop.call_soon_threadsafe(_set_exception, future, exc)
                return
            logger.warning("a batch of %d requests failed (%s); running each alone", len(items), exc)
            for item in items:
                self._run_batch([item])
            return
        start = 0
        for inputs, future, loop in items:
            n = _rows(inputs)
            rows = {name: values[start : start + n] for name, values in output.items()}
            loop.call_soon_threadsafe(_set_result, future, rows)
            start += n


def _rows(inputs: Arrays) -> int:
    return int(next(iter(inputs.values())).shape[0])


def _set_result(future: asyncio.Future[Arrays], value: Arrays) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Arrays], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
