"""Rate limits: per-key quotas, failed authentication per address (keys and admin token), minting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facade.app import create_app
from tests.conftest import SMALL
from tests.facade.conftest import ADMIN, make_settings, mint

pytestmark = pytest.mark.slow
PRICES = [150.0 + 0.3 * i for i in range(SMALL.window + 2)]


@pytest.fixture
def client(models_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(
        tmp_path,
        models_dir,
        rate_limit_per_key="3/minute",
        rate_limit_auth_failures="4/minute",
        rate_limit_minting="5/minute",
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _predict(client: TestClient, key: str) -> object:
    return client.post("/predict", headers={"x-api-key": key}, json={"prices": PRICES})


def _check_429(r: object) -> None:
    assert r.status_code == 429, r.text  # type: ignore[attr-defined]
    h = r.headers  # type: ignore[attr-defined]
    assert int(h["retry-after"]) >= 1 and h["ratelimit-remaining"] == "0"
    assert int(h["ratelimit-limit"]) > 0 and int(h["ratelimit-reset"]) >= 1
    assert r.json()["error"] == "rate_limited"  # type: ignore[attr-defined]


def test_per_key_quota_gives_429_with_retry_after_and_ratelimit_headers(client: TestClient) -> None:
    key, other = mint(client, "a"), mint(client, "b")
    remaining = []
    for _ in range(3):
        r = _predict(client, key)
        assert r.status_code == 200, r.text  # type: ignore[attr-defined]
        assert r.headers["ratelimit-limit"] == "3"  # type: ignore[attr-defined]
        remaining.append(int(r.headers["ratelimit-remaining"]))  # type: ignore[attr-defined]
    assert remaining == [2, 1, 0]
    r = _predict(client, key)
    _check_429(r)
    assert "quota of API key" in r.json()["detail"]  # type: ignore[attr-defined]
    assert _predict(client, other).status_code == 200  # type: ignore[attr-defined]  # quotas are per key


def test_failed_key_attempts_block_the_address_even_for_a_right_key(client: TestClient) -> None:
    key = mint(client)
    for _ in range(4):
        assert _predict(client, key[:-4] + "AAAA").status_code == 401  # type: ignore[attr-defined]
    r = _predict(client, key)
    _check_429(r)
    assert "failed authentication attempts" in r.json()["detail"]  # type: ignore[attr-defined]


def test_failed_admin_tokens_are_limited_per_address(client: TestClient) -> None:
    for _ in range(4):
        assert client.post("/generate_api_key", headers={"x-admin-token": "guess"}).status_code == 401
    _check_429(client.post("/generate_api_key", headers={"x-admin-token": "guess"}))
    _check_429(client.get("/api_keys", headers={"x-admin-token": ADMIN}))  # the right token waits too


def test_a_missing_key_is_not_counted_as_a_guess(client: TestClient) -> None:
    for _ in range(6):
        assert client.post("/predict", json={"prices": PRICES}).status_code == 401
    assert _predict(client, mint(client)).status_code == 200  # type: ignore[attr-defined]


def test_minting_is_limited(client: TestClient) -> None:
    for _ in range(5):
        mint(client)
    r = client.post("/generate_api_key", headers={"x-admin-token": ADMIN}, json={"name": "one too many"})
    _check_429(r)
    assert "key-minting limit" in r.json()["detail"]
    assert len(client.get("/api_keys", headers={"x-admin-token": ADMIN}).json()) == 5


def test_limits_can_be_switched_off(models_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, models_dir, rate_limit_enabled=False, rate_limit_per_key="1/minute")
    with TestClient(create_app(settings)) as c:
        key = mint(c)
        assert all(_predict(c, key).status_code == 200 for _ in range(3))  # type: ignore[attr-defined]


# The storage-level tests (memory and a real Redis, every strategy, Redis down) are in test_ratelimit_storage.py.
