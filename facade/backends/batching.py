"""Micro-batching: concurrent requests for the same model version share one model call.

Requests are gathered on the event loop. While a batch runs in the worker
thread, new requests queue up; when it finishes, everything queued (up to
``max_batch`` rows) runs as the next batch. A lone request runs at once
(``timeout_s = 0``) or after waiting ``timeout_s`` for company. The event
loop and the worker meet once per batch, not once per request: under load
that is most of what batching saves on the loop. They meet through a C
queue one way and ``call_soon_threadsafe`` the other, with no
``concurrent.futures`` machinery between them: its futures, locks and
callbacks cost both threads Python work (and the GIL) on every batch.

One bad row must not fail its neighbours: if a batch of several requests
fails, each request is run again alone (in the worker), so only the guilty
one gets the error.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Arrays = dict[str, npt.NDArray[Any]]
Run = Callable[[Arrays], Arrays]
_Pending = tuple[Arrays, "asyncio.Future[Arrays]"]
# Per request of a batch: its outputs, or the exception it alone raised.
_Outcome = Arrays | BaseException
# What the worker is handed: the loop to answer on and the batch; None stops it.
_Work = tuple[asyncio.AbstractEventLoop, list[_Pending]] | None


class MicroBatcher:
    """Runs ``run`` on batches assembled from concurrent :meth:`submit` calls, in one worker thread."""

    def __init__(self, run: Run, *, max_batch: int = 32, timeout_s: float = 0.0, name: str = "batcher") -> None:
        self.run = run
        self.max_batch = max_batch
        self.timeout_s = timeout_s
        self._pending: deque[_Pending] = deque()
        self._busy = False
        self._closed = False
        self._work: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._serve, name=name, daemon=True)
        self._worker.start()

    async def submit(self, inputs: Arrays) -> Arrays:
        """Queues rows (every input shares the leading batch axis); returns their rows of every output."""
        if self._closed:
            raise RuntimeError("the batcher was closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Arrays] = loop.create_future()
        self._pending.append((inputs, future))
        if not self._busy:
            self._busy = True
            # Not at once: requests already scheduled in this turn of the loop join the batch for free.
            if self.timeout_s > 0:
                loop.call_later(self.timeout_s, self._start, loop)
            else:
                loop.call_soon(self._start, loop)
        return await future

    def close(self) -> None:
        """Stops the worker once its batch in hand is done; requests still queued fail."""
        self._closed = True
        for _, future in self._pending:
            if not future.done():
                future.get_loop().call_soon_threadsafe(_fail, future, RuntimeError("the batcher was closed"))
        self._pending.clear()
        self._work.put(None)
        if self._worker is not threading.current_thread():
            self._worker.join()

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._closed:
            for _, future in self._pending:
                _fail(future, RuntimeError("the batcher was closed"))
            self._pending.clear()
            return
        batch: list[_Pending] = []
        rows = 0
        while self._pending and (not batch or rows + _rows(self._pending[0][0]) <= self.max_batch):
            item = self._pending.popleft()
            batch.append(item)
            rows += _rows(item[0])
        if not batch:
            self._busy = False
            return
        self._work.put((loop, batch))

    def _serve(self) -> None:
        """The worker thread: one batch at a time, each answered on the loop that queued it."""
        while (work := self._work.get()) is not None:
            loop, batch = work
            try:
                outcomes: list[_Outcome] = self._run_batch([inputs for inputs, _ in batch])
            except BaseException as exc:  # whatever happened, every request of the batch hears of it
                outcomes = [exc] * len(batch)
            try:
                loop.call_soon_threadsafe(self._finish, loop, batch, outcomes)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                logger.debug("a batch finished after its event loop closed")

    def _finish(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending], outcomes: list[_Outcome]) -> None:
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        if self._pending:
            self._start(loop)
        else:
            self._busy = False

    def _run_batch(self, requests: list[Arrays]) -> list[_Outcome]:
        """In the worker: one model call for every request, or one each when the shared call fails."""
        if len(requests) == 1:
            return [_attempt(self.run, requests[0])]
        keys = requests[0].keys()
        try:
            output = self.run({k: np.concatenate([r[k] for r in requests], axis=0) for k in keys})
        except Exception as exc:
            logger.warning("a batch of %d requests failed (%s); running each alone", len(requests), exc)
            return [_attempt(self.run, r) for r in requests]
        out: list[_Outcome] = []
        start = 0
        for request in requests:
            n = _rows(request)
            out.append({name: values[start : start + n] for name, values in output.items()})
            start += n
        return out


def _attempt(run: Run, inputs: Arrays) -> _Outcome:
    try:
        return run(inputs)
    except Exception as exc:
        return exc


def _rows(inputs: Arrays) -> int:
    return int(next(iter(inputs.values())).shape[0])


def _fail(future: asyncio.Future[Arrays], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
