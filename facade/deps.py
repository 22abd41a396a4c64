"""Dependencies for the routes, as ``Annotated`` aliases.

They are ``async def`` so that FastAPI calls them on the event loop, not in its
thread pool. Key verification is answered from the process's cache of verified
keys (``FACADE_KEY_CACHE_S``) without I/O; only a miss awaits the key database.
Rate limits await their storage only when it is Redis.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from facade.backends import Backend
from facade.config import Settings
from facade.errors import Unauthorized, UnsupportedMediaType
from facade.keystore import KeyRecord, KeyStore
from facade.metrics import Metrics
from facade.ratelimit import RateLimits


async def _settings(request: Request) -> Settings:
    # The app's own settings (create_app's argument). Not app.dependency_overrides: FastAPI
    # re-analyses an overridden dependency's signature on every request (44% of a 1-step request).
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


async def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


async def _keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.limits
    return limits


def client_address(request: Request) -> str:
    """The peer's address (uvicorn rewrites it from X-Forwarded-For only for FACADE_FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


# Security schemes, so the OpenAPI document (and Swagger UI's Authorize button) says which header each route needs.
# auto_error=False: a missing header reaches the dependencies below, which answer with the facade's own 401.
API_KEY_HEADER = APIKeyHeader(
    name="x-api-key", scheme_name="ApiKey", auto_error=False, description="Your API key (from POST /generate_api_key)."
)
ADMIN_TOKEN_HEADER = APIKeyHeader(
    name="x-admin-token", scheme_name="AdminToken", auto_error=False, description="The FACADE_ADMIN_TOKEN value."
)

BackendDep = Annotated[Backend, Depends(_backend)]
RateLimitsDep = Annotated[RateLimits, Depends(_limits)]
KeyStoreDep = Annotated[KeyStore, Depends(_keys)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]


async def authenticate(request: Request, keys: KeyStore, limits: RateLimits, presented: str | None) -> KeyRecord:
    """Checks an API key and spends one request of its quota (the dependency below, and the JSON fast route).

    Raises:
        Unauthorized: missing, malformed, unknown or revoked key (a wrong secret counts as a failed attempt).
        RateLimited: too many failed attempts from this address, or the key's quota is spent.
    """
    address = client_address(request)
    await limits.check_auth_allowed(address)
    try:
        record = await keys.verify(presented)
    except Unauthorized:
        if presented:  # a presented secret that failed: a guess, as far as we can tell
            await limits.record_auth_failure(address)
        raise
    request.state.log["key_id"] = record.id
    # The middleware puts these on the response, whatever its status.
    request.state.rate_headers = await limits.spend_key_quota(record.id)
    return record


async def _api_key(
    request: Request,
    keys: KeyStoreDep,
    limits: RateLimitsDep,
    x_api_key: Annotated[str | None, Security(API_KEY_HEADER)],
) -> KeyRecord:
    return await authenticate(request, keys, limits, x_api_key)


async def _admin(
    request: Request,
    settings: SettingsDep,
    limits: RateLimitsDep,
    x_admin_token: Annotated[str | None, Security(ADMIN_TOKEN_HEADER)],
) -> None:
    expected = settings.admin_token.get_secret_value() if settings.admin_token else ""
    address = client_address(request)
    await limits.check_auth_allowed(address)
    if not x_admin_token:
        raise Unauthorized("missing admin token: send it in the x-admin-token header")
    if not expected or not hmac.compare_digest(x_admin_token.encode(), expected.encode()):
        await limits.record_auth_failure(address)
        raise Unauthorized("wrong admin token")


ApiKeyDep = Annotated[KeyRecord, Depends(_api_key)]
AdminDep = Depends(_admin)


def is_json(content_type: str) -> bool:
    """``application/json`` or any ``application/*+json``, parameters ignored."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def check_json_content(request: Request) -> None:
    """Refuses a body declared as anything but JSON, or sent without a content type.

    Raises:
        UnsupportedMediaType: saying what to send.
    """
    content_type = request.headers.get("content-type")
    if content_type is None:
        # FastAPI reads no body without a content type as JSON (its CSRF guard): say what to send instead of
        # letting the body fail validation as "not a valid dictionary".
        if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
            raise UnsupportedMediaType(
                "the body has no content type: send it as JSON with content-type: application/json"
            )
        return
    if not is_json(content_type):
        raise UnsupportedMediaType(f"send the body as JSON with content-type: application/json (got {content_type!r})")


async def _json_content(request: Request) -> None:
    check_json_content(request)


# A JSON route's body with another declared type, or none, is refused before validation.
JsonContentDep = Depends(_json_content)
