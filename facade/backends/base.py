"""What every backend offers the facade: pinned versions with their metadata, and one way to run a signature.

:meth:`Backend.run` is the single path to a model: it checks and casts the
inputs against the serving contract and hands them to the backend's
:meth:`Backend._run`. ``predict_next`` and ``forecast`` are thin on top, and
the only slicing of results happens here.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from common.contract import (
    FORECAST,
    FORECAST_OUTPUT,
    NEXT_OUTPUT,
    PRICES_INPUT,
    SERVING_DEFAULT,
    STEPS_INPUT,
    WINDOW_INPUT,
    SignatureSpec,
    list_models,
)
from common.metadata import MetadataError, ScalerParams, VersionMetadata, read_metadata
from facade.errors import ModelUnavailable, NotFound
from facade.forecasting import F32

Arrays = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class Servable:
    """One pinned model version and the metadata that must travel with it."""

    model: str
    version: int
    metadata: VersionMetadata = field(repr=False)

    @property
    def window(self) -> int:
        return self.metadata.window

    @property
    def scaler(self) -> ScalerParams:
        return self.metadata.scaler

    @property
    def ticker(self) -> str:
        return self.metadata.ticker


class Backend(abc.ABC):
    """Base class: model discovery from the models folder, version pinning, the one inference path."""

    kind: str = "abstract"

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._metadata: dict[tuple[str, int], VersionMetadata] = {}

    def known_models(self) -> list[str]:
        """Models with a folder under the models directory (the deployment's source of truth)."""
        return list_models(self.models_dir)

    def read_metadata(self, model: str, version: int) -> VersionMetadata:
        """A version's validated metadata, read once: version folders never change.

        Raises:
            ModelUnavailable: unreadable, or not matching the serving contract (the reason says which).
        """
        key = (model, version)
        if key not in self._metadata:
            try:
                self._metadata[key] = read_metadata(
                    self.models_dir / model / str(version), model=model, version=version
                )
            except MetadataError as exc:
                raise ModelUnavailable(f"{model} version {version} cannot be served: {exc}") from exc
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

    @property
    @abc.abstractmethod
    def target(self) -> str:
        """Where inference runs, for health output."""

    @abc.abstractmethod
    async def _run(self, servable: Servable, signature: str, inputs: Arrays, outputs: tuple[str, ...]) -> Arrays:
        """Runs ``signature`` of the pinned version on contract-typed inputs; returns the named outputs."""

    async def run(
        self,
        servable: Servable,
        signature: SignatureSpec,
        inputs: Mapping[str, npt.ArrayLike],
        outputs: Sequence[str] | None = None,
    ) -> Arrays:
        """Runs a signature of the contract on a pinned version.

        Args:
            servable: the pinned version.
            signature: the contract's signature.
            inputs: one array per input of the signature (cast to the contract's dtypes here).
            outputs: the outputs wanted; all of the signature's by default.

        Returns:
            Output name -> array, with the batch axis first.
        """
        if set(inputs) != signature.input_names():
            raise ValueError(f"{signature.name} takes {sorted(signature.input_names())}, got {sorted(inputs)}")
        typed = {t.name: np.asarray(inputs[t.name], dtype=t.dtype) for t in signature.inputs}
        names = tuple(outputs) if outputs is not None else tuple(t.name for t in signature.outputs)
        return await self._run(servable, signature.name, typed, names)

    async def predict_next(self, servable: Servable, windows: F32) -> F32:
        """``serving_default`` on scaled ``[batch, W, 1]`` windows -> ``[batch, 1]``."""
        out = await self.run(servable, SERVING_DEFAULT, {WINDOW_INPUT: windows}, (NEXT_OUTPUT,))
        return np.asarray(out[NEXT_OUTPUT], dtype=np.float32)

    async def forecast(self, servable: Servable, prices: F32, steps: npt.NDArray[np.int32]) -> F32:
        """The in-graph ``forecast`` signature: raw ``[batch, W]`` prices -> ``[batch, max(steps)]``."""
        out = await self.run(servable, FORECAST, {PRICES_INPUT: prices, STEPS_INPUT: steps}, (FORECAST_OUTPUT,))
        # Rows batched with longer requests come back wider (batching pads along the steps axis).
        return np.asarray(out[FORECAST_OUTPUT][:, : int(steps.max())], dtype=np.float32)

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
