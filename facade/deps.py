"""Dependencies for the routes, as ``Annotated`` aliases.

They are ``async def`` so that FastAPI calls them on the event loop, not in its
thread pool. Key verification reads SQLite synchronously on a cache miss (a
primary-key lookup, well under a millisecond; verified keys are cached for
``FACADE_KEY_CACHE_S``).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from facade.backends import Backend
from facade.config import Settings
from facade.errors import Unauthorized
from facade.keys import KeyRecord, KeyStore
from facade.metrics import Metrics


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


BackendDep = Annotated[Backend, Depends(_backend)]
KeyStoreDep = Annotated[KeyStore, Depends(_keys)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]


async def _api_key(
    request: Request,
    keys: KeyStoreDep,
    x_api_key: Annotated[str | None, Header(description="Your API key (from POST /generate_api_key).")] = None,
) -> KeyRecord:
    record = keys.verify(x_api_key)
    request.state.log["key_id"] = record.id
    return record


async def _admin(
    settings: SettingsDep,
    x_admin_token: Annotated[str | None, Header(description="The FACADE_ADMIN_TOKEN value.")] = None,
) -> None:
    expected = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if not x_admin_token:
        raise Unauthorized("missing admin token: send it in the x-admin-token header")
    if not expected or not hmac.compare_digest(x_admin_token.encode(), expected.encode()):
        raise Unauthorized("wrong admin token")


ApiKeyDep = Annotated[KeyRecord, Depends(_api_key)]
AdminDep = Depends(_admin)
