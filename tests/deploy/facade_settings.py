"""Which FACADE_* names the deployments may set: the facade's settings, plus those decided and on their way."""

from facade.config import Settings

# Settings whose names are decided (keys in a server database, models named without a model folder) and
# whose code lands separately: the deployments already use them. Once they are fields of Settings, this
# set no longer matters (and can be emptied).
DECIDED = frozenset({"FACADE_KEYS_URL"})


def is_setting(name: str) -> bool:
    """Whether ``name`` is a FACADE_* variable the facade reads (or will read, see ``DECIDED``)."""
    if not name.startswith("FACADE_"):
        return False
    return name.removeprefix("FACADE_").lower() in Settings.model_fields or name in DECIDED
