"""Which FACADE_* names the deployments may set: the facade's settings."""

from facade.config import Settings


def is_setting(name: str) -> bool:
    """Whether ``name`` is a FACADE_* variable the facade reads."""
    return name.startswith("FACADE_") and name.removeprefix("FACADE_").lower() in Settings.model_fields
