"""PostgreSQL going away and coming back: 503 with Retry-After (never 500), then recovery with no restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from facade.app import create_app
from loadtest.procs import free_port
from tests.facade.conftest import ADMIN, make_settings
from tests.servers import PostgresServer, new_postgres

ADMIN_HEADERS = {"x-admin-token": ADMIN}
PRICES = [150.0 + 0.3 * i for i in range(70)]


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: stopping it must not disturb the session's."""
    server = new_postgres()
    yield server
    server.remove()


def _client(tmp_path: Path, url: str) -> TestClient:
    # No model backend (nothing listens there): a request that passes the key check fails later
    # (_accepted), one whose key cannot be checked gets key_store_unavailable.
    settings = make_settings(
        tmp_path,
        tmp_path / "models",
        backend="tfserving",
        tfserving_address=f"127.0.0.1:{free_port()}",
        keys_url=url,
        key_cache_s=300,
        keys_timeout_s=0.5,
    )
    return TestClient(create_app(settings))


def _predict(client: TestClient, key: str) -> Response:
    return client.post("/predict", headers={"x-api-key": key}, json={"prices": PRICES})


def _accepted(r: Response) -> bool:
    """The key check passed: what follows is the missing model's answer."""
    return r.json()["error"] in {"model_unavailable", "not_found"}


def _unavailable(r: Response, server: PostgresServer) -> None:
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "key_store_unavailable" and int(r.headers["retry-after"]) >= 1
    assert server.password not in r.text and "127.0.0.1" not in r.json()["detail"]  # the address stays in the log


def _until(check: object, timeout: float = 30.0) -> Response:
    deadline = time.monotonic() + timeout
    while True:
        r: Response = check()  # type: ignore[operator]
        if r.status_code != 503 or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def test_postgres_down_gives_503_with_retry_after_then_the_facade_recovers(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    server = own_postgres
    with _client(tmp_path, server.create_database()) as client:
        used = client.post("/generate_api_key", headers=ADMIN_HEADERS).json()["api_key"]
        unused = client.post("/generate_api_key", headers=ADMIN_HEADERS).json()
        assert _accepted(_predict(client, used))  # verified, now cached

        server.stop()
        # A key verified before the outage rides it out from the cache.
        assert _accepted(_predict(client, used))
        # Anything that needs the database is a 503 saying so.
        _unavailable(_predict(client, unused["api_key"]), server)
        _unavailable(client.post("/generate_api_key", headers=ADMIN_HEADERS), server)
        _unavailable(client.get("/api_keys", headers=ADMIN_HEADERS), server)
        _unavailable(client.delete(f"/api_keys/{unused['id']}", headers=ADMIN_HEADERS), server)
        # Shared by every replica: its outage shows on health and metrics, not in readiness (which here fails
        # only for the absent model backend), so it cannot take every replica out of a load balancer at once.
        assert "key" not in client.get("/ready").json()["reason"]
        health = client.get("/").json()
        assert health["status"] == "degraded" and health["key_store"]["reachable"] is False
        assert server.password not in client.get("/").text
        assert "facade_key_store_up 0.0" in client.get("/metrics").text

        server.start()
        listed = _until(lambda: client.get("/api_keys", headers=ADMIN_HEADERS))
        assert listed.status_code == 200, listed.text
        assert len(listed.json()) == 2
        assert _accepted(_predict(client, unused["api_key"]))
        assert client.post("/generate_api_key", headers=ADMIN_HEADERS).status_code == 201
        assert client.get("/").json()["key_store"] == {"reachable": True, "problem": None}


def test_a_facade_started_while_postgres_is_down_serves_keys_once_it_is_up(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    server = own_postgres
    url = server.create_database()
    server.stop()
    with _client(tmp_path, url) as client:  # starts: the database being down is not a reason to crash
        _unavailable(client.post("/generate_api_key", headers=ADMIN_HEADERS), server)
        server.start()
        minted = _until(lambda: client.post("/generate_api_key", headers=ADMIN_HEADERS))
        assert minted.status_code == 201, minted.text  # the table was created on first use
        assert _accepted(_predict(client, minted.json()["api_key"]))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_during_an_outage_only_one_call_per_interval_waits_for_the_server(own_postgres: PostgresServer) -> None:
    from facade.errors import KeyStoreUnavailable
    from facade.keystore import make_key_store
    from facade.keystore.postgres import RETRY_S

    store = make_key_store(own_postgres.create_database(), cache_s=0, timeout_s=0.5, pool_size=2)
    await store.open()
    try:
        _, key = await store.create("x")
        own_postgres.stop()
        with pytest.raises(KeyStoreUnavailable, match="key database postgresql:") as first:
            await store.verify(key)
        assert "next attempt" not in first.value.detail  # this one waited for the server
        for _ in range(3):
            with pytest.raises(KeyStoreUnavailable, match="unreachable, next attempt within"):
                await store.verify(key)  # these did not
        own_postgres.start()
        await asyncio.sleep(RETRY_S)
        deadline = time.monotonic() + 30
        while True:
            try:
                assert (await store.verify(key)).name == "x"
                break
            except KeyStoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await store.close()
