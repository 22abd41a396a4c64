"""API-key administration (needs the admin token, checked before the body is read)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from pydantic import ValidationError

from facade.deps import AdminDep, KeyStoreDep, RateLimitsDep, is_json
from facade.errors import InvalidInput, UnsupportedMediaType
from facade.messages import describe_validation_errors
from facade.openapi import errors
from facade.schemas import KeyInfo, KeyRequest, NewKey

router = APIRouter(tags=["keys"], dependencies=[AdminDep])

_KEY_REQUEST_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": KeyRequest.model_json_schema()}},
    }
}


async def _key_request(request: Request) -> KeyRequest:
    """The optional JSON body, parsed only after the admin token passed (a dependency FastAPI runs first)."""
    raw = await request.body()
    if not raw.strip(b" \t\r\n"):  # JSON's own whitespace only: "\x0b" is not an empty body
        return KeyRequest()
    content_type = request.headers.get("content-type")
    if content_type is not None and not is_json(content_type):
        raise UnsupportedMediaType(f"send the body as JSON with content-type: application/json (got {content_type!r})")
    try:
        return KeyRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_errors(exc.errors())) from None


@router.post(
    "/generate_api_key",
    response_model=NewKey,
    status_code=201,
    responses=errors(401, 415, 422, 429),
    openapi_extra=_KEY_REQUEST_BODY,
)
async def generate_api_key(request: Request, keys: KeyStoreDep, limits: RateLimitsDep) -> NewKey:
    """Mint an API key; the response is the only time the key is shown."""
    body = await _key_request(request)
    request.state.rate_headers = await limits.spend_minting()
    record, secret = await keys.create(body.name)
    return NewKey(**asdict(record), api_key=secret)


@router.get("/api_keys", response_model=list[KeyInfo], responses=errors(401, 422, 429))
async def list_keys(keys: KeyStoreDep) -> list[KeyInfo]:
    """List keys by id and name (never their secrets)."""
    return [KeyInfo(**asdict(r)) for r in await keys.list()]


@router.delete("/api_keys/{key_id}", response_model=KeyInfo, responses=errors(401, 404, 422, 429))
async def revoke_key(key_id: str, keys: KeyStoreDep) -> KeyInfo:
    """Revoke a key; requests with it are refused from then on."""
    return KeyInfo(**asdict(await keys.revoke(key_id)))
