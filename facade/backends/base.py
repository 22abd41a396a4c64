"""What every backend offers the facade: pinned versions with their metadata, and inference."""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from export.contract import ASSETS_EXTRA, METADATA_FILE
from facade.errors import ModelUnavailable, NotFound
from facade.scaling import MinMax

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Servable:
    """One pinned model version and the metadata that must travel with it."""

    model: str
    version: int
    metadata: dict[str, Any] = field(repr=False)

    @property
    def window(self) -> int:
        return int(self.metadata["window"])

    @property
    def scaler(self) -> MinMax:
        return MinMax.from_metadata(self.metadata)

    @property
    def ticker(self) -> str:
        return str(self.metadata.get("ticker", self.model))


class Backend(abc.ABC):
    """Base class: model discovery from the models folder and version pinning."""

    kind: str = "abstract"

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._metadata: dict[tuple[str, int], dict[str, Any]] = {}

    def known_models(self) -> list[str]:
        """Models with a folder under the models directory (the deployment's source of truth)."""
        if not self.models_dir.is_dir():
            return []
        return sorted(p.name for p in self.models_dir.iterdir() if p.is_dir() and not p.name.startswith("."))

    def read_metadata(self, model: str, version: int) -> dict[str, Any]:
        """A version's ``metadata.json``, read once: version folders never change."""
        key = (model, version)
        if key not in self._metadata:
            path = self.models_dir / model / str(version) / ASSETS_EXTRA / METADATA_FILE
            try:
                self._metadata[key] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise ModelUnavailable(f"cannot read {path}: is the models volume mounted? ({exc})") from exc
        return self._metadata[key]

    def check_known(self, model: str) -> None:
        if model not in self.known_models():
            served = ", ".join(self.known_models()) or "none"
            raise NotFound(f"no model {model!r} (models served: {served})")

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def served(self) -> dict[str, list[int]]:
        """Model -> versions available now, from the last refresh."""

    @abc.abstractmethod
    async def refresh(self) -> None:
        """Re-reads which versions are available."""

    @abc.abstractmethod
    async def reachable(self) -> bool: ...

    @abc.abstractmethod
    async def predict_next(self, servable: Servable, windows: F32) -> F32:
        """``serving_default`` on scaled ``[batch, W, 1]`` windows -> ``[batch, 1]``."""

    @abc.abstractmethod
    async def forecast(self, servable: Servable, prices: F32, steps: npt.NDArray[np.int32]) -> F32:
        """The in-graph ``forecast`` signature: raw ``[batch, W]`` prices -> ``[batch, max(steps)]``."""

    @property
    @abc.abstractmethod
    def target(self) -> str:
        """Where inference runs, for health output."""

    async def pin(self, model: str) -> Servable:
        """The newest available version of ``model`` with its metadata.

        Raises:
            NotFound: no such model.
            ModelUnavailable: the model has no version available (yet).
        """
        versions = self.served().get(model)
        if not versions:
            self.check_known(model)
            await self.refresh()
            versions = self.served().get(model)
            if not versions:
                raise ModelUnavailable(f"no version of model {model!r} is available on {self.kind} ({self.target})")
        version = versions[-1]
        return Servable(model, version, self.read_metadata(model, version))
