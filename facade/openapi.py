"""What the OpenAPI document says: each route's error statuses, bodies and headers, and the live limits.

Every error the facade answers is an ``ErrorBody``; FastAPI's default 422
``HTTPValidationError`` is replaced wherever a route takes parameters.
:func:`install` makes ``/openapi.json`` state the one limit that depends on
what is served rather than on the settings: ``prices`` needs at least the
smallest window of the versions available now (a request for a model whose
window is longer still gets a 422 naming that window).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from facade.backends import Backend
from facade.errors import FacadeError
from facade.schemas import ErrorBody

_INT_HEADER = {"schema": {"type": "integer", "minimum": 0}}
RATE_HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {"description": "Requests allowed in the quota's window", **_INT_HEADER},
    "RateLimit-Remaining": {"description": "Requests left in the window", **_INT_HEADER},
    "RateLimit-Reset": {"description": "Seconds until the window has room again", **_INT_HEADER},
}
RETRY_AFTER: dict[str, Any] = {"Retry-After": {"description": "Seconds to wait before retrying", **_INT_HEADER}}

_TEXT: dict[int, str] = {
    400: "A multipart body that cannot be parsed or breaks its limits (one file, 16 fields, 4 KB a field)",
    401: "Missing, malformed, unknown or revoked credentials",
    404: "Unknown ticker, model or key",
    408: "The body did not arrive within FACADE_BODY_TIMEOUT_S",
    413: "Body over FACADE_MAX_UPLOAD_BYTES (declared or streamed)",
    415: "Send the body as application/json",
    422: "Invalid input (the detail says what and where)",
    429: "Rate limited: see Retry-After and the RateLimit-* headers",
    431: "Too many or too large request headers",
    500: "A fault of the facade itself (details in its log, by request id)",
    502: "The backend failed the inference (details in the facade's log, by request id)",
    503: "Backend down or model not loaded; retry after Retry-After",
    504: "The backend timed out",
}
_HEADERS: dict[int, dict[str, Any]] = {429: {**RETRY_AFTER, **RATE_HEADERS}, 503: RETRY_AFTER}

# Statuses any route can answer: limits enforced by the middleware before routing, and the catch-all.
COMMON = (408, 413, 431, 500)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``codes`` (plus the common ones), each an ``ErrorBody``."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({*codes, *COMMON}):
        entry: dict[str, Any] = {"model": ErrorBody, "description": _TEXT[code]}
        if code in _HEADERS:
            entry["headers"] = _HEADERS[code]
        out[code] = entry
    return out


def smallest_window(backend: Backend) -> int | None:
    """The shortest window among the versions ``backend`` serves now (None when it serves none)."""
    windows = []
    for model, versions in backend.served().items():
        for version in versions:
            try:
                windows.append(backend.read_metadata(model, version).window)
            except FacadeError:
                continue  # unloaded meanwhile, or unreadable: it serves nothing
    return min(windows, default=None)


def install(app: FastAPI, backend: Callable[[], Backend | None]) -> None:
    """Serves FastAPI's document with ``PredictRequest.prices.minItems`` set from the versions served now."""
    build = app.openapi  # generates once and caches

    def openapi() -> dict[str, Any]:
        doc = copy.deepcopy(build())
        served = backend()
        window = smallest_window(served) if served is not None else None
        prices = doc.get("components", {}).get("schemas", {}).get("PredictRequest", {}).get("properties", {})
        if window is not None and "prices" in prices:
            prices["prices"]["minItems"] = max(window, prices["prices"].get("minItems", 1))
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
