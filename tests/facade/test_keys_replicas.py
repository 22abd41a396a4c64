"""Several facade processes (``python -m facade``) on one key database and one Redis.

They see each other's keys at once and revocations within FACADE_KEY_CACHE_S,
spend one quota together, and lose no key to concurrent minting or to a SIGKILL
in the middle of it.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
import urllib.error
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from subprocess import Popen

import httpx2
import pytest

from facade.keystore import make_key_store
from loadtest import procs
from tests.facade.conftest import ADMIN
from tests.facade.live import ROOT, Live, live_facade

PRICES = [150.0 + 0.3 * i for i in range(70)]
CACHE_S = 2.0


@pytest.fixture(params=["sqlite", "postgresql"])
def keys_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keys.sqlite3'}"  # one host: its processes share the file
    return str(request.getfixturevalue("postgres_url"))


@contextmanager
def keys_only_facade(keys_url: str, tmp: Path) -> Iterator[tuple[str, Popen[bytes]]]:
    """A facade whose model backend is absent (nothing listens there): enough to mint and check keys."""
    port = procs.free_port()
    env = {
        "PYTHONPATH": str(ROOT),
        "FACADE_BACKEND": "tfserving",
        "FACADE_TFSERVING_ADDRESS": f"127.0.0.1:{procs.free_port()}",
        "FACADE_MODELS_DIR": str(tmp / "models"),
        "FACADE_KEYS_URL": keys_url,
        "FACADE_RATE_LIMIT_MINTING": "100000/minute",
    }
    with procs.facade(port, env=env, log=tmp / f"facade-{port}.log") as proc:
        procs.wait_http(f"http://127.0.0.1:{port}/", timeout=60)
        yield f"http://127.0.0.1:{port}", proc


def verify_all(keys_url: str, keys: list[str]) -> set[str]:
    """Checks every key through a fresh store (another process's view); returns the ids the database lists."""

    async def check() -> set[str]:
        store = make_key_store(keys_url, cache_s=0, timeout_s=5, pool_size=2)
        await store.open()
        try:
            for key in keys:
                await store.verify(key)
            return {r.id for r in await store.list()}
        finally:
            await store.close()

    return asyncio.run(check())


def test_concurrent_minting_from_several_processes_loses_nothing(keys_url: str, tmp_path: Path) -> None:
    made: list[str] = []
    failures: list[BaseException] = []

    def mint(base: str) -> None:
        try:
            for _ in range(15):
                made.append(procs.mint_key(base))
        except BaseException as exc:
            failures.append(exc)

    with ExitStack() as stack:
        bases = [stack.enter_context(keys_only_facade(keys_url, tmp_path))[0] for _ in range(2)]
        threads = [threading.Thread(target=mint, args=(base,)) for base in bases for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures, failures
    assert len(made) == 90
    assert verify_all(keys_url, made) == {k.split("_")[1] for k in made}


def test_sigkill_while_minting_loses_no_acknowledged_key(keys_url: str, tmp_path: Path) -> None:
    acknowledged: list[str] = []
    with keys_only_facade(keys_url, tmp_path) as (base, proc):

        def mint() -> None:
            while True:
                try:
                    acknowledged.append(procs.mint_key(base))
                except (urllib.error.URLError, OSError, http.client.HTTPException):
                    # The server died under this request (before or while answering): not acknowledged.
                    return

        threads = [threading.Thread(target=mint) for _ in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.kill()  # SIGKILL: no shutdown, no flush, in the middle of minting
        proc.wait()
        for t in threads:
            t.join()
    assert len(acknowledged) >= 40
    assert {k.split("_")[1] for k in acknowledged} <= verify_all(keys_url, acknowledged)


@pytest.mark.slow
def test_two_facades_share_keys_revocations_and_quotas(
    grpc_target: str, models_dir: Path, postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    shared = {
        "keys_url": postgres_url,
        "rate_limit_storage": redis_url,
        "key_cache_s": str(CACHE_S),
        "rate_limit_per_key": "6/minute",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    admin = {"x-admin-token": ADMIN}
    with (
        live_facade(grpc_target, models_dir, tmp_path / "a", **shared) as a,
        live_facade(grpc_target, models_dir, tmp_path / "b", **shared) as b,
    ):

        def predict(live: Live, key: str) -> httpx2.Response:
            return httpx2.post(f"{live.base}/predict", headers={"x-api-key": key}, json={"prices": PRICES}, timeout=30)

        # A key minted on A works on B at once (B has never seen it: no negative caching).
        minted = httpx2.post(f"{a.base}/generate_api_key", headers=admin, json={"name": "shared"}).json()
        assert predict(b, minted["api_key"]).status_code == 200
        assert {k["id"] for k in httpx2.get(f"{b.base}/api_keys", headers=admin).json()} == {minted["id"]}

        # One quota for both: 6 per minute, spent alternately.
        quota_key = httpx2.post(f"{b.base}/generate_api_key", headers=admin).json()["api_key"]
        remaining = []
        for live in (a, b, a, b, a, b):
            r = predict(live, quota_key)
            assert r.status_code == 200, r.text
            remaining.append(r.headers["ratelimit-remaining"])
        assert remaining == ["5", "4", "3", "2", "1", "0"]
        for live in (a, b):
            refused = predict(live, quota_key)
            assert refused.status_code == 429 and "quota of API key" in refused.json()["detail"]

        # Revoked on A: A refuses at once; B, which trusted the key, refuses within the cache time.
        assert predict(b, minted["api_key"]).status_code == 200  # cached on B from here
        assert httpx2.delete(f"{a.base}/api_keys/{minted['id']}", headers=admin).status_code == 200
        revoked_at = time.monotonic()
        r = predict(a, minted["api_key"])
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
        # B's entry was read before the revocation, so it has expired CACHE_S after it at the latest.
        time.sleep(max(0.0, revoked_at + CACHE_S - time.monotonic()) + 0.05)
        r = predict(b, minted["api_key"])
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
