"""Schemathesis hooks for the facade's run (loaded through schemathesis.toml)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    """Drops ``steps`` written as an integral float (``42.0``).

    JSON Schema counts 42.0 as an integer, so the generator sends it as valid data;
    the facade refuses it on purpose (steps must be a JSON integer, not a float that
    happens to be whole) and says so in the field's description.
    """
    return not (isinstance(body, dict) and isinstance(body.get("steps"), float) and body["steps"].is_integer())
