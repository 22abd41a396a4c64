"""The rate limits' storage: in memory, and a real redis-server shared by several facades."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from facade.config import Settings
from facade.errors import RateLimited
from facade.ratelimit import STORAGE_RETRY_S, RateLimits
from loadtest.procs import free_port
from tests.servers import RedisServer, new_redis

pytestmark = pytest.mark.anyio
STRATEGIES = ["moving-window", "fixed-window", "sliding-window-counter"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


def limits_for(storage: str, **overrides: str) -> RateLimits:
    return RateLimits(Settings(_env_file=None, rate_limit_storage=storage, **overrides))  # type: ignore[call-arg]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_each_strategy_enforces_the_quota(storage: str, strategy: str) -> None:
    limits = limits_for(storage, rate_limit_strategy=strategy, rate_limit_per_key="2/hour")
    try:
        first = await limits.spend_key_quota("k")
        assert first["RateLimit-Limit"] == "2" and first["RateLimit-Remaining"] == "1"
        assert 1 <= int(first["RateLimit-Reset"]) <= 3600
        await limits.spend_key_quota("k")
        with pytest.raises(RateLimited, match="quota of API key k is spent") as refused:
            await limits.spend_key_quota("k")
        assert refused.value.headers and int(refused.value.headers["Retry-After"]) >= 1
        assert (await limits.spend_key_quota("other"))["RateLimit-Remaining"] == "1"  # per key
    finally:
        await limits.close()


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_replicas_on_one_redis_share_every_quota(redis_url: str, strategy: str) -> None:
    """A quota spent through one replica is spent for all; so are failed logins and minting."""
    a, b = (
        limits_for(
            redis_url,
            rate_limit_strategy=strategy,
            rate_limit_per_key="4/minute",
            rate_limit_auth_failures="3/minute",
            rate_limit_minting="2/minute",
        )
        for _ in range(2)
    )
    try:
        remaining = [(await limiter.spend_key_quota("k"))["RateLimit-Remaining"] for limiter in (a, b, a, b)]
        assert remaining == ["3", "2", "1", "0"]
        for limiter in (a, b):
            with pytest.raises(RateLimited):
                await limiter.spend_key_quota("k")
        for limiter in (a, b, a):
            await limiter.record_auth_failure("10.0.0.7")
        with pytest.raises(RateLimited, match=r"failed authentication attempts from 10\.0\.0\.7"):
            await b.check_auth_allowed("10.0.0.7")
        await b.check_auth_allowed("10.0.0.8")
        await a.spend_minting()
        await b.spend_minting()
        with pytest.raises(RateLimited, match="key-minting limit"):
            await a.spend_minting()
    finally:
        await a.close()
        await b.close()


async def test_memory_storage_is_per_process() -> None:
    """The default: two facades each count on their own (what redis:// exists to fix)."""
    a, b = (limits_for("memory://", rate_limit_per_key="1/minute") for _ in range(2))
    await a.spend_key_quota("k")
    await b.spend_key_quota("k")
    with pytest.raises(RateLimited):
        await a.spend_key_quota("k")


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = new_redis()
    yield server
    server.remove()


async def test_redis_down_lets_requests_through_then_counting_resumes(own_redis: RedisServer) -> None:
    """Counters down must not mean service down (logged); back up, the limits apply again."""
    limits = limits_for(own_redis.url, rate_limit_per_key="2/minute")
    try:
        assert (await limits.spend_key_quota("k"))["RateLimit-Remaining"] == "1"
        own_redis.stop()
        for _ in range(5):
            assert await limits.spend_key_quota("k") == {}
            await limits.check_auth_allowed("10.0.0.7")
            await limits.record_auth_failure("10.0.0.7")
        own_redis.start()
        await asyncio.sleep(STORAGE_RETRY_S)  # the storage is left alone this long after a failure
        # The counters were in the stopped server's memory (no persistence): the quota starts afresh.
        assert (await limits.spend_key_quota("k"))["RateLimit-Remaining"] == "1"
        await limits.spend_key_quota("k")
        with pytest.raises(RateLimited):
            await limits.spend_key_quota("k")
    finally:
        await limits.close()


async def test_unreachable_redis_is_tried_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """Each failed attempt costs a timeout and a log line: one per interval, not one per request."""
    limits = limits_for(f"redis://127.0.0.1:{free_port()}/0", rate_limit_per_key="1/minute")
    with caplog.at_level("WARNING", logger="facade.ratelimit"):
        for _ in range(5):
            assert await limits.spend_key_quota("k") == {}
            await limits.check_auth_allowed("10.0.0.7")
    failures = [r for r in caplog.records if "rate-limit storage" in r.getMessage()]
    assert len(failures) == 1 and "letting requests through" in failures[0].getMessage()
    await limits.close()


def test_other_storages_are_refused_with_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match=r"memory:// \(per process\) or redis://"):
        limits_for("memcached://127.0.0.1:11211")
