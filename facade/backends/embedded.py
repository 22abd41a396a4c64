"""TensorFlow in the facade's process: the same version folders, no TF Serving needed.

Loads ``models/<model>/<N>/`` like TF Serving (newest two versions, polled
every ``version_refresh_s``) through :mod:`modelserver.repository`, and
batches concurrent requests per version and signature. This is the only
facade module that brings TensorFlow in; the ``tfserving`` backend never
imports it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import numpy as np

from common.metadata import VersionMetadata
from facade.backends.base import Arrays, Backend, Servable
from facade.backends.batching import MicroBatcher
from facade.config import Settings
from facade.errors import FacadeError, InferenceError, VersionGone

logger = logging.getLogger(__name__)


def _set_thread_pools(tf: Any, inter_op: int, intra_op: int) -> None:
    """Sizes TensorFlow's thread pools, which it fixes when the first op runs (the process's first backend wins)."""
    threading = tf.config.threading
    try:
        if threading.get_inter_op_parallelism_threads() != inter_op:
            threading.set_inter_op_parallelism_threads(inter_op)
        if threading.get_intra_op_parallelism_threads() != intra_op:
            threading.set_intra_op_parallelism_threads(intra_op)
    except RuntimeError:
        logger.info("TensorFlow's thread pools were fixed before this backend started; they stay as they are")


class EmbeddedBackend(Backend):
    kind = "embedded"

    def __init__(self, settings: Settings) -> None:
        self.models_dir = settings.models_dir
        self.settings = settings
        self.repo: Any = None
        self._batchers: dict[tuple[str, int, str, tuple[str, ...]], MicroBatcher] = {}

    @property
    def target(self) -> str:
        return f"in-process TensorFlow over {self.models_dir}"

    async def start(self) -> None:
        from common.tf_runtime import import_tensorflow

        tf = await asyncio.to_thread(import_tensorflow)
        _set_thread_pools(tf, self.settings.embedded_inter_op_threads, self.settings.embedded_intra_op_threads)
        if self.settings.embedded_switch_interval_us:
            sys.setswitchinterval(self.settings.embedded_switch_interval_us / 1e6)
        from modelserver.repository import ModelRepository

        self.repo = ModelRepository(self.models_dir, keep=2)
        await asyncio.to_thread(self.repo.refresh)
        self.repo.start_polling(self.settings.version_refresh_s)

    async def close(self) -> None:
        if self.repo is not None:
            self.repo.stop()
        for batcher in self._batchers.values():
            batcher.close()

    def known_models(self) -> list[str]:
        """Models with a folder under the models directory (the deployment's source of truth)."""
        names: list[str] = self.repo.model_names()
        return names

    def served(self) -> dict[str, list[int]]:
        served: dict[str, list[int]] = self.repo.snapshot()
        return served

    def available(self, model: str) -> list[int]:
        versions: list[int] = self.repo.versions(model)
        return versions

    def labels(self, model: str) -> dict[str, int]:
        labels: dict[str, int] = self.repo.labels(model)
        return labels

    async def refresh(self) -> None:
        await asyncio.to_thread(self.repo.refresh)

    async def reachable(self) -> bool:
        return True

    def _loaded(self, model: str, version: int) -> Any:
        from modelserver.repository import ServableNotFound

        try:
            return self.repo.get(model, version)
        except ServableNotFound as exc:
            raise VersionGone(str(exc)) from exc

    def read_metadata(self, model: str, version: int) -> VersionMetadata:
        # The repository validated it when it loaded the version (and refused the version if it did not match).
        metadata: VersionMetadata = self._loaded(model, version).metadata
        return metadata

    def _batcher(self, servable: Servable, signature: str, outputs: tuple[str, ...]) -> MicroBatcher:
        key = (servable.model, servable.version, signature, outputs)
        batcher = self._batchers.get(key)
        if batcher is None:
            loaded = self._loaded(servable.model, servable.version)
            self._prune()

            def run(inputs: Arrays) -> Arrays:
                result = loaded.run(signature, inputs)
                return {name: np.asarray(result[name]) for name in outputs}

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

    async def _run(self, servable: Servable, signature: str, inputs: Arrays, outputs: tuple[str, ...]) -> Arrays:
        batcher = self._batcher(servable, signature, outputs)
        try:
            return await batcher.submit(inputs)
        except FacadeError:
            raise
        except Exception as exc:
            raise InferenceError(f"{servable.model} version {servable.version} failed: {exc}") from exc
