"""What every backend offers the facade: pinned versions with their metadata, and one way to run a signature.

The two backends read metadata differently: the embedded one from the version
folders it loads, the TF Serving one from each version's ``metadata``
signature over gRPC (so a facade needs no model folder). Both hand the facade
the same validated :class:`~common.metadata.VersionMetadata`.

:meth:`Backend.run` is the single path to a model: it checks and casts the
inputs against the serving contract and hands them to the backend's
:meth:`Backend._run`. ``predict_next`` and ``forecast`` are thin on top, and
the only slicing of results happens here.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from common.contract import (
    FORECAST,
    FORECAST_OUTPUT,
    LOWER_OUTPUT,
    NEXT_OUTPUT,
    PRICES_INPUT,
    SCALE_OUTPUT,
    SERVING_DEFAULT,
    STEPS_INPUT,
    UPPER_OUTPUT,
    VALID_OUTPUT,
    WINDOW_INPUT,
    SignatureSpec,
)
from common.metadata import ScalerParams, VersionMetadata
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


@dataclass(frozen=True)
class ForecastArrays:
    """What the ``forecast`` signature answers for a batch of rows, cut to the batch's own steps."""

    forecast: F32  # [batch, steps], price units
    lower: F32  # [batch, levels, steps], price units
    upper: F32
    valid: npt.NDArray[np.bool_]  # [batch]: false for a row the graph could not use (its values are NaN)


# What a request may ask for: the newest available version (None), a version number, or a label.
VersionRequest = int | str | None


class Backend(abc.ABC):
    """Base class: version pinning over what a backend serves, and the one inference path."""

    kind: str = "abstract"

    @abc.abstractmethod
    def known_models(self) -> list[str]:
        """The models this deployment serves, whether or not a version is available now."""

    @abc.abstractmethod
    def labels(self, model: str) -> dict[str, int]:
        """Version labels of ``model`` (label -> version)."""

    @abc.abstractmethod
    def read_metadata(self, model: str, version: int) -> VersionMetadata:
        """A served version's validated metadata.

        Raises:
            ModelUnavailable: the version is not served, or its metadata does not match the contract.
        """

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

    def available(self, model: str) -> Sequence[int]:
        """The versions of one model available now, ascending (on every request's path: no copy of the rest)."""
        return self.served().get(model, ())

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
        if inputs.keys() != signature.input_names:
            raise ValueError(f"{signature.name} takes {sorted(signature.input_names)}, got {sorted(inputs)}")
        typed = {t.name: np.asarray(inputs[t.name], dtype=t.dtype) for t in signature.inputs}
        names = tuple(outputs) if outputs is not None else tuple(t.name for t in signature.outputs)
        return await self._run(servable, signature.name, typed, names)

    async def predict_next(self, servable: Servable, windows: F32) -> tuple[F32, F32]:
        """``serving_default`` on scaled ``[batch, W, 1]`` windows -> ``next`` and ``scale``, each ``[batch, 1]``."""
        out = await self.run(servable, SERVING_DEFAULT, {WINDOW_INPUT: windows})
        return np.asarray(out[NEXT_OUTPUT], dtype=np.float32), np.asarray(out[SCALE_OUTPUT], dtype=np.float32)

    async def forecast(self, servable: Servable, prices: F32, steps: npt.NDArray[np.int32]) -> ForecastArrays:
        """The in-graph ``forecast`` signature: raw ``[batch, W]`` prices -> ``[batch, max(steps)]`` and validity."""
        out = await self.run(servable, FORECAST, {PRICES_INPUT: prices, STEPS_INPUT: steps})
        # Rows batched with longer requests come back wider (batching pads along the steps axis).
        width = int(steps.max())
        return ForecastArrays(
            forecast=np.asarray(out[FORECAST_OUTPUT][:, :width], dtype=np.float32),
            lower=np.asarray(out[LOWER_OUTPUT][:, :, :width], dtype=np.float32),
            upper=np.asarray(out[UPPER_OUTPUT][:, :, :width], dtype=np.float32),
            valid=np.asarray(out[VALID_OUTPUT], dtype=np.bool_),
        )

    async def pin(
        self, model: str, version: VersionRequest = None, *, exclude: frozenset[int] = frozenset()
    ) -> Servable:
        """A version of ``model`` that is available now, with its metadata.

        Args:
            model: the model name.
            version: None for the newest available version, a version number, or a label.
            exclude: versions not to pick when ``version`` is None (one that just failed on a replica).

        Raises:
            NotFound: no such model, label or version.
            ModelUnavailable: the model has no (other) version available, or a label names one not loaded.
        """
        versions = self.available(model)
        if not versions:
            self.check_known(model)
            await self.refresh()
            versions = self.available(model)
            if not versions:
                raise ModelUnavailable(f"no version of model {model!r} is available on {self.kind} ({self.target})")
        if version is None:
            candidates = [v for v in versions if v not in exclude]
            if not candidates:
                raise ModelUnavailable(f"no other version of model {model!r} is available (tried {sorted(exclude)})")
            number = candidates[-1]
        elif isinstance(version, str):
            labels = self.labels(model)
            if version not in labels:
                known = ", ".join(sorted(labels)) or "none"
                raise NotFound(f"model {model!r} has no version label {version!r} (labels: {known})")
            number = labels[version]
            if number not in versions:
                raise ModelUnavailable(f"label {version!r} of model {model!r} names version {number}, not loaded now")
        else:
            number = version
            if number not in versions:
                raise NotFound(f"version {number} of model {model!r} is not available (available: {versions})")
        return Servable(model, number, self.read_metadata(model, number))
