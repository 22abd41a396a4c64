"""Schemathesis hooks for the facade's run (loaded through schemathesis.toml)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    """Drops ``steps`` or ``version`` written as an integral float (``42.0``).

    JSON Schema counts 42.0 as an integer, so the generator sends it as valid data;
    the facade refuses it on purpose (steps and version numbers must be JSON
    integers, not floats that happen to be whole) and says so in the fields'
    descriptions.
    """
    if not isinstance(body, dict):
        return True
    return not any(isinstance(body.get(k), float) and body[k].is_integer() for k in ("steps", "version"))
