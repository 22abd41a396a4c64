"""TF Serving over gRPC, through the light client (no TensorFlow in this process)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from facade.backends.base import Arrays, Backend, Servable
from facade.backends.tfs_client import TFServingClient
from facade.config import Settings
from facade.errors import FacadeError, InferenceError

logger = logging.getLogger(__name__)


class TFServingBackend(Backend):
    """Asks TF Serving which versions are AVAILABLE every ``version_refresh_s`` and pins each request to one."""

    kind = "tfserving"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.models_dir)
        assert settings.tfserving_address
        self.address = settings.tfserving_address
        self.settings = settings
        self.client: TFServingClient | None = None
        self._versions: dict[str, list[int]] = {}
        self._up = False
        self._task: asyncio.Task[None] | None = None

    @property
    def target(self) -> str:
        return self.address

    async def start(self) -> None:
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

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.version_refresh_s)
            try:
                await self.refresh()
            except FacadeError as exc:
                logger.debug("version refresh failed: %s", exc.detail)

    async def refresh(self) -> None:
        assert self.client is not None
        try:
            models = self.known_models()
            found = await asyncio.gather(*(self.client.available_versions(m) for m in models))
        except FacadeError:
            if self._up:
                logger.warning("TF Serving at %s became unreachable", self.address)
            self._up = False
            raise
        if not self._up:
            logger.info("TF Serving at %s reachable", self.address)
        self._up = True
        self._versions = dict(zip(models, found, strict=True))

    def served(self) -> dict[str, list[int]]:
        return dict(self._versions)

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
