"""TF Serving over gRPC, through the light client (no TensorFlow in this process, no model folder).

Everything the facade needs comes from TF Serving's address and its settings:
the models from ``FACADE_MODELS`` or TF Serving's own ``models.config``; every
``version_refresh_s``, their AVAILABLE versions from ``GetModelStatus``; each
new version's contract (window, scaler, intervals, ticker, metrics) from its
``metadata`` signature, read once (a version never changes); version labels
from ``models.config``, re-read when the file changes. A version whose
metadata does not match the contract is refused with the reason, never served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from common.metadata import MetadataError, VersionMetadata
from common.naming import model_name
from facade.backends.base import Arrays, Backend, Servable
from facade.backends.model_config import ModelConfigError, ServedModels, read_model_config
from facade.backends.tfs_client import TFServingClient
from facade.config import Settings
from facade.errors import FacadeError, InferenceError, ModelUnavailable, VersionGone

logger = logging.getLogger(__name__)


class TFServingBackend(Backend):
    """Pins each request to a version AVAILABLE on TF Serving, with that version's own metadata."""

    kind = "tfserving"

    def __init__(self, settings: Settings) -> None:
        assert settings.tfserving_address
        self.address = settings.tfserving_address
        self.settings = settings
        self.client: TFServingClient | None = None
        self._models = ServedModels(settings.served_models() or [model_name(settings.default_ticker)])
        self._config_mtime: float | None = None
        self._versions: dict[str, list[int]] = {}
        self._metadata: dict[tuple[str, int], VersionMetadata] = {}
        self._refused: dict[tuple[str, int], str] = {}
        self._up = False
        self._task: asyncio.Task[None] | None = None

    @property
    def target(self) -> str:
        return self.address

    async def start(self) -> None:
        """Opens the channel and reads the model config (a broken one stops start-up with the reason)."""
        self._read_config(strict=True)
        self.client = TFServingClient(self.address, timeout_s=self.settings.request_timeout_s)
        try:
            await self.refresh()
        except FacadeError as exc:
            logger.warning("TF Serving not ready at start: %s", exc.detail)
        self._task = asyncio.create_task(self._poll(), name="tfserving-versions")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.client is not None:
            await self.client.close()

    def _read_config(self, *, strict: bool) -> None:
        """Re-reads FACADE_MODEL_CONFIG_FILE when it changed; keeps the previous one if it broke meanwhile."""
        path: Path | None = self.settings.model_config_file
        if path is None:
            return
        try:
            mtime = path.stat().st_mtime
            if mtime == self._config_mtime:
                return
            config = read_model_config(path)
        except (OSError, ModelConfigError) as exc:
            if strict:
                raise ValueError(f"FACADE_MODEL_CONFIG_FILE: {exc}") from exc
            logger.error("kept the previous model config: %s", exc)
            return
        names = self.settings.served_models() or config.names
        self._models = ServedModels(names, {m: config.labels.get(m, {}) for m in names})
        self._config_mtime = mtime

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.version_refresh_s)
            try:
                await self.refresh()
            except FacadeError as exc:
                logger.debug("version refresh failed: %s", exc.detail)

    async def refresh(self) -> None:
        assert self.client is not None
        self._read_config(strict=False)
        models = list(self._models.names)
        try:
            found = await asyncio.gather(*(self.client.available_versions(m) for m in models))
            versions = {m: [v for v in vs if await self._learn(m, v)] for m, vs in zip(models, found, strict=True)}
        except FacadeError:
            if self._up:
                logger.warning("TF Serving at %s became unreachable", self.address)
            self._up = False
            raise
        if not self._up:
            logger.info("TF Serving at %s reachable", self.address)
        self._up = True
        self._versions = versions
        self._forget(versions)

    async def _learn(self, model: str, version: int) -> bool:
        """True once a version's metadata is known and valid (fetched the first time the version is seen)."""
        key = (model, version)
        if key in self._metadata:
            return True
        if key in self._refused:
            return False
        assert self.client is not None
        try:
            self._metadata[key] = await self.client.metadata(model, version)
        except VersionGone:
            return False  # the replica that answered has unloaded it, or has not loaded it yet
        except MetadataError as exc:
            self._refused[key] = str(exc)
            logger.error("refused %s version %d: %s", model, version, exc)
            return False
        logger.info("serving %s version %d", model, version)
        return True

    def _forget(self, versions: dict[str, list[int]]) -> None:
        """Drops what is known of versions older than every available one: they are gone for good."""
        for cache in (self._metadata, self._refused):
            for model, version in list(cache):
                available = versions.get(model)
                if available and version < available[0]:
                    del cache[(model, version)]

    def known_models(self) -> list[str]:
        return list(self._models.names)

    def served(self) -> dict[str, list[int]]:
        return dict(self._versions)

    def available(self, model: str) -> list[int]:
        return self._versions.get(model, [])

    def labels(self, model: str) -> dict[str, int]:
        return dict(self._models.labels.get(model, {}))

    def read_metadata(self, model: str, version: int) -> VersionMetadata:
        meta = self._metadata.get((model, version))
        if meta is None:
            reason = self._refused.get((model, version), "not available")
            raise ModelUnavailable(f"{model} version {version} cannot be served: {reason}")
        return meta

    async def reachable(self) -> bool:
        return self._up

    async def _run(self, servable: Servable, signature: str, inputs: Arrays, outputs: tuple[str, ...]) -> Arrays:
        assert self.client is not None
        version, out = await self.client.predict(
            servable.model, version=servable.version, signature=signature, inputs=inputs, outputs=outputs
        )
        if version != servable.version:
            raise InferenceError(f"asked {servable.model} version {servable.version}, answered by version {version}")
        return out
