"""What each route documents in the OpenAPI schema: its error statuses, bodies and headers.

Every error the facade answers is an ``ErrorBody``; FastAPI's default 422
``HTTPValidationError`` is replaced wherever a route takes parameters.
"""

from __future__ import annotations

from typing import Any

from facade.schemas import ErrorBody

_INT_HEADER = {"schema": {"type": "integer", "minimum": 0}}
RATE_HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {"description": "Requests allowed in the quota's window", **_INT_HEADER},
    "RateLimit-Remaining": {"description": "Requests left in the window", **_INT_HEADER},
    "RateLimit-Reset": {"description": "Seconds until the window has room again", **_INT_HEADER},
}
RETRY_AFTER: dict[str, Any] = {"Retry-After": {"description": "Seconds to wait before retrying", **_INT_HEADER}}

_TEXT: dict[int, str] = {
    400: "Malformed request the server could not parse (e.g. a broken multipart body)",
    401: "Missing, unknown or revoked credentials",
    404: "Unknown ticker, model or key",
    408: "The body did not arrive within FACADE_BODY_TIMEOUT_S",
    413: "Body over FACADE_MAX_UPLOAD_BYTES (declared or streamed)",
    415: "Send the body as application/json",
    422: "Invalid input (the detail says what and where)",
    429: "Rate limited: see Retry-After and the RateLimit-* headers",
    431: "Too many or too large request headers",
    502: "The backend failed the inference (details in the facade's log, by request id)",
    503: "Backend down or model not loaded; retry after Retry-After",
    504: "The backend timed out",
}
_HEADERS: dict[int, dict[str, Any]] = {429: {**RETRY_AFTER, **RATE_HEADERS}, 503: RETRY_AFTER}

# Statuses any route can answer: limits enforced by the middleware before routing.
COMMON = (408, 413, 431)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``codes`` (plus the common ones), each an ``ErrorBody``."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({*codes, *COMMON}):
        entry: dict[str, Any] = {"model": ErrorBody, "description": _TEXT[code]}
        if code in _HEADERS:
            entry["headers"] = _HEADERS[code]
        out[code] = entry
    return out
