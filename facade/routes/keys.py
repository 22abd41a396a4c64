"""API-key administration (needs the admin token)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Body

from facade.deps import AdminDep, KeyStoreDep
from facade.schemas import ErrorBody, KeyInfo, KeyRequest, NewKey

router = APIRouter(tags=["keys"], dependencies=[AdminDep], responses={401: {"model": ErrorBody}})


@router.post("/generate_api_key", response_model=NewKey, status_code=201)
async def generate_api_key(keys: KeyStoreDep, body: KeyRequest | None = Body(default=None)) -> NewKey:  # noqa: B008
    """Mint an API key; the response is the only time the key is shown."""
    record, secret = keys.create((body or KeyRequest()).name)
    return NewKey(**asdict(record), api_key=secret)


@router.get("/api_keys", response_model=list[KeyInfo])
async def list_keys(keys: KeyStoreDep) -> list[KeyInfo]:
    """List keys by id and name (never their secrets)."""
    return [KeyInfo(**asdict(r)) for r in keys.list()]


@router.delete("/api_keys/{key_id}", response_model=KeyInfo, responses={404: {"model": ErrorBody}})
async def revoke_key(key_id: str, keys: KeyStoreDep) -> KeyInfo:
    """Revoke a key; requests with it are refused from then on."""
    return KeyInfo(**asdict(keys.revoke(key_id)))
