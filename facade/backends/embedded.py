"""TensorFlow in the facade's process: the same version folders, no TF Serving needed.

Loads ``models/<model>/<N>/`` like TF Serving (newest two versions, polled
every ``version_refresh_s``) and batches concurrent requests per version.
This is the only facade module that brings TensorFlow in (through
``export.repository``); the ``tfserving`` backend never imports it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from export.contract import (
    DEFAULT_SIGNATURE,
    FORECAST_OUTPUT,
    FORECAST_SIGNATURE,
    NEXT_OUTPUT,
    PRICES_INPUT,
    STEPS_INPUT,
    WINDOW_INPUT,
)
from facade.backends.base import F32, Backend, Servable
from facade.batching import MicroBatcher
from facade.config import Settings
from facade.errors import FacadeError, InferenceError, VersionGone

logger = logging.getLogger(__name__)


class EmbeddedBackend(Backend):
    kind = "embedded"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.models_dir)
        self.settings = settings
        self.repo: Any = None
        self._batchers: dict[tuple[str, int, str], MicroBatcher] = {}

    @property
    def target(self) -> str:
        return f"in-process TensorFlow over {self.models_dir}"

    async def start(self) -> None:
        from export.repository import ModelRepository

        self.repo = ModelRepository(self.models_dir, keep=2)
        await asyncio.to_thread(self.repo.refresh)
        self.repo.start_polling(self.settings.version_refresh_s)

    async def close(self) -> None:
        if self.repo is not None:
            self.repo.stop()
        for batcher in self._batchers.values():
            batcher.close()

    def served(self) -> dict[str, list[int]]:
        served: dict[str, list[int]] = self.repo.snapshot()
        return served

    async def refresh(self) -> None:
        await asyncio.to_thread(self.repo.refresh)

    async def reachable(self) -> bool:
        return True

    def read_metadata(self, model: str, version: int) -> dict[str, Any]:
        from export.repository import ServableNotFound

        try:
            metadata: dict[str, Any] = self.repo.get(model, version).metadata
        except ServableNotFound as exc:
            raise VersionGone(str(exc)) from exc
        return metadata

    def _batcher(self, servable: Servable, signature: str, output: str) -> MicroBatcher:
        from export.repository import ServableNotFound

        key = (servable.model, servable.version, signature)
        batcher = self._batchers.get(key)
        if batcher is None:
            try:
                loaded = self.repo.get(servable.model, servable.version)
            except ServableNotFound as exc:
                raise VersionGone(str(exc)) from exc
            self._prune()

            def run(inputs: dict[str, npt.NDArray[Any]]) -> npt.NDArray[Any]:
                return np.asarray(loaded.run(signature, inputs)[output])

            batcher = MicroBatcher(
                run,
                max_batch=self.settings.batch_max_size,
                timeout_s=self.settings.batch_timeout_ms / 1000,
                name=f"batch-{servable.model}-{servable.version}-{signature}",
            )
            self._batchers[key] = batcher
        return batcher

    def _prune(self) -> None:
        """Closes batchers of versions that are no longer loaded."""
        served = self.served()
        for key in [k for k in self._batchers if k[1] not in served.get(k[0], [])]:
            self._batchers.pop(key).close()

    async def _submit(self, servable: Servable, signature: str, output: str, inputs: dict[str, Any]) -> F32:
        batcher = self._batcher(servable, signature, output)
        try:
            return np.asarray(await batcher.submit(inputs), dtype=np.float32)
        except FacadeError:
            raise
        except Exception as exc:
            raise InferenceError(f"{servable.model} version {servable.version} failed: {exc}") from exc

    async def predict_next(self, servable: Servable, windows: F32) -> F32:
        return await self._submit(servable, DEFAULT_SIGNATURE, NEXT_OUTPUT, {WINDOW_INPUT: windows})

    async def forecast(self, servable: Servable, prices: F32, steps: npt.NDArray[np.int32]) -> F32:
        out = await self._submit(
            servable, FORECAST_SIGNATURE, FORECAST_OUTPUT, {PRICES_INPUT: prices, STEPS_INPUT: steps}
        )
        # Rows batched with longer requests come back wider; keep this request's columns.
        return out[:, : int(steps.max())]
