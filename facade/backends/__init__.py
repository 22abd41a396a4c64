"""Inference backends: TF Serving over gRPC, or TensorFlow embedded in the facade."""

from __future__ import annotations

from facade.backends.base import Backend, Servable
from facade.config import Settings

__all__ = ["Backend", "Servable", "make_backend"]


def make_backend(settings: Settings) -> Backend:
    """The backend the settings ask for; the embedded one imports TensorFlow, the gRPC one never does."""
    if settings.backend_kind == "tfserving":
        from facade.backends.tfserving import TFServingBackend

        assert settings.tfserving_address is not None
        return TFServingBackend(settings)
    from facade.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(settings)
