"""What key verification and the rate limits cost per request, by store.

    python -m loadtest.keys_bench [--postgres URL] [--redis URL]

Key verification is on every request's path: a cache hit (the usual case) and
a miss (``FACADE_KEY_CACHE_S`` expired, or 0) on SQLite, and on PostgreSQL when
a URL is given (an empty database is best: the benchmark creates its table
and leaves one key per run in it). Then the rate limits of one request
(address check and key quota) in memory and, with a URL, in Redis. Prints
microseconds per call; compare rows of one run, not runs on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from facade.config import Settings
from facade.keystore import make_key_store
from facade.ratelimit import RateLimits


async def per_call_us(call: Callable[[], Awaitable[object]], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - start) / n * 1e6


async def verification(url: str, label: str, *, hits: int, misses: int) -> None:
    for cache_s, n, kind in ((3600.0, hits, "hit"), (0.0, misses, "miss")):
        store = make_key_store(url, cache_s=cache_s, timeout_s=5.0, pool_size=4)
        await store.open()
        try:
            _, key = await store.create("bench")
            await store.verify(key)
            us = await per_call_us(lambda: store.verify(key), n)  # noqa: B023 - awaited within the iteration
            print(f"verify, {label:10s} cache {kind:4s}  {us:8.2f} us")
        finally:
            await store.close()


async def rate_limits(url: str, label: str, n: int) -> None:
    limits = RateLimits(Settings(_env_file=None, rate_limit_storage=url, rate_limit_per_key="1000000000/minute"))  # type: ignore[call-arg]

    async def one_request() -> None:
        await limits.check_auth_allowed("127.0.0.1")
        await limits.spend_key_quota("bench")

    try:
        print(f"rate limits, {label:6s} per request  {await per_call_us(one_request, n):8.2f} us")
    finally:
        await limits.close()


async def main(postgres: str | None, redis: str | None, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await verification(f"sqlite:///{Path(tmp) / 'keys.sqlite3'}", "sqlite", hits=n, misses=n // 10)
    if postgres:
        await verification(postgres, "postgresql", hits=n, misses=n // 10)
    await rate_limits("memory://", "memory", n // 10)
    if redis:
        await rate_limits(redis, "redis", n // 10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="postgresql://user:password@host:5432/db")
    parser.add_argument("--redis", help="redis://host:6379/0")
    parser.add_argument("--calls", type=int, default=20000, help="cache hits per store (misses: a tenth)")
    args = parser.parse_args()
    asyncio.run(main(args.postgres, args.redis, args.calls))
