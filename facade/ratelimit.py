"""Rate limits with the ``limits`` library: per-key quotas, failed authentication per address, minting.

Storage comes from a URL (``FACADE_RATE_LIMIT_STORAGE``): ``memory://`` keeps
counters in the process (one worker, one replica); ``redis://host:6379/0``
(also ``rediss://`` and ``redis+unix://``) shares them between workers and
replicas, so a quota spent on one replica is spent on all. In memory, the
counters are plain calls with no I/O; with Redis, ``limits``' asyncio strategies
over redis-py's asyncio client await the server without blocking the event
loop, each call bounded by ``STORAGE_TIMEOUT_S``.

Answers past a limit are 429 with ``Retry-After`` and the IETF draft's
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` headers
(seconds). If the storage fails (Redis down), requests pass and the failure is
logged: an outage of the counters must not become an outage of the service.
After a failure the storage is left alone for ``STORAGE_RETRY_S``, so an
unreachable Redis costs at most one timeout per interval, not one per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

from limits import RateLimitItem, parse_many, strategies
from limits.aio import strategies as aio_strategies
from limits.storage import MemoryStorage, storage_from_string

from facade.config import Settings
from facade.errors import RateLimited

logger = logging.getLogger(__name__)

_STRATEGIES: dict[str, tuple[type[strategies.RateLimiter], type[aio_strategies.RateLimiter]]] = {
    "moving-window": (strategies.MovingWindowRateLimiter, aio_strategies.MovingWindowRateLimiter),
    "fixed-window": (strategies.FixedWindowRateLimiter, aio_strategies.FixedWindowRateLimiter),
    "sliding-window-counter": (
        strategies.SlidingWindowCounterRateLimiter,
        aio_strategies.SlidingWindowCounterRateLimiter,
    ),
}
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")
# Loopback or a LAN answers in a millisecond; past this the server is taken as down.
STORAGE_TIMEOUT_S = 0.5
STORAGE_RETRY_S = 1.0


class _StorageDown(Exception):
    """The storage failed recently: the request passes without counting."""


# Past this many remembered failing addresses, the expired ones are dropped (then past twice those left).
MAX_FAILING_ADDRESSES = 10_000


class SweptMemoryStorage(MemoryStorage):
    """``limits``' in-process storage, its expired entries swept by one long-lived daemon thread.

    The library's own storage starts a new ``threading.Timer`` 10 ms after each
    hit that finds none alive, to sweep expired entries: under steady traffic
    that is a thread started (and the event loop blocked until it runs) about a
    hundred times a second. Counters and windows are unchanged: the library
    checks expiry on every read, the sweep only frees memory.
    """

    SWEEP_S = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._MemoryStorage__schedule_expiry = lambda: None  # instance attribute: wins over the name-mangled method
        self._stop = threading.Event()
        threading.Thread(target=self._sweep, name="rate-limit-sweeper", daemon=True).start()

    def _sweep(self) -> None:
        while not self._stop.wait(self.SWEEP_S):
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]  # the library's own sweep

    def close(self) -> None:
        self._stop.set()


class RateLimits:
    """The facade's three families of limits over one storage.

    Raises:
        ValueError: a storage URL other than memory:// or redis(s)://.
    """

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.storage_url = settings.rate_limit_storage
        sync_strategy, async_strategy = _STRATEGIES[settings.rate_limit_strategy]
        self._sync: strategies.RateLimiter | None = None
        self._async: aio_strategies.RateLimiter | None = None
        self._redis: Any = None  # redis.asyncio.ConnectionPool, owned here so that close() can release it
        if self.storage_url.startswith("memory://"):
            self._sync = sync_strategy(SweptMemoryStorage())
        elif self.storage_url.startswith(REDIS_SCHEMES):
            import redis.asyncio

            # The client connects lazily, on the event loop that first uses it.
            self._redis = redis.asyncio.ConnectionPool.from_url(
                self.storage_url.replace("redis+unix://", "unix://"),
                socket_timeout=STORAGE_TIMEOUT_S,
                socket_connect_timeout=STORAGE_TIMEOUT_S,
            )
            storage = storage_from_string(
                f"async+{self.storage_url}", implementation="redispy", connection_pool=self._redis
            )
            self._async = async_strategy(storage)
        else:
            raise ValueError(
                f"FACADE_RATE_LIMIT_STORAGE={self.storage_url!r}: use memory:// (per process) or redis://host:6379/0"
            )
        self._down_until = 0.0
        self.per_key = parse_many(settings.rate_limit_per_key)
        self.auth_failures = parse_many(settings.rate_limit_auth_failures)
        # memory://: addresses with a failed attempt in this process lately (until when), so that the common case,
        # an address that never failed, skips the failure counters' lookups.
        self._failing: dict[str, float] = {}
        self._prune_at = MAX_FAILING_ADDRESSES
        self._auth_window_s = max((item.get_expiry() for item in self.auth_failures), default=0)
        self.minting = parse_many(settings.rate_limit_minting)

    async def close(self) -> None:
        """Closes the Redis connections (the next use, on whatever event loop runs it, reconnects)."""
        if self._redis is not None:
            await self._redis.disconnect()
        if self._sync is not None and isinstance(self._sync.storage, SweptMemoryStorage):
            self._sync.storage.close()

    async def spend_key_quota(self, key_id: str) -> dict[str, str]:
        """Counts one request against a key's quota; returns the RateLimit-* headers to send.

        Raises:
            RateLimited: the quota is spent.
        """
        return await self._spend(self.per_key, "key", key_id, what=f"the quota of API key {key_id}")

    async def check_auth_allowed(self, address: str) -> None:
        """Refuses any authentication from an address that failed too often (even with a right secret).

        Raises:
            RateLimited: too many failed attempts from ``address``.
        """
        if not self.enabled:
            return
        if self._sync is not None and not self._failed_lately(address):
            return  # per-process counters: no failure here means none counted (one dict lookup per request)
        try:
            for item in self.auth_failures:
                if not await self._test(item, "auth-fail", address):
                    headers = await self._headers(item, 0, "auth-fail", address, retry=True)
                    raise RateLimited(
                        f"too many failed authentication attempts from {address}; wait {headers['Retry-After']} s",
                        headers=headers,
                    )
        except RateLimited:
            raise
        except _StorageDown:
            return
        except Exception as exc:
            self._failed(exc)

    async def record_auth_failure(self, address: str) -> None:
        """Counts one failed attempt (wrong, malformed or revoked key, wrong admin token) for ``address``."""
        if not self.enabled:
            return
        if self._sync is not None:
            self._note_failure(address)
        try:
            for item in self.auth_failures:
                await self._hit(item, "auth-fail", address)
        except _StorageDown:
            pass
        except Exception as exc:
            self._failed(exc)

    async def spend_minting(self) -> dict[str, str]:
        """Counts one minted key against the service-wide minting limit.

        Raises:
            RateLimited: too many keys minted in the window.
        """
        return await self._spend(self.minting, "mint", "all", what="the key-minting limit")

    async def _spend(self, items: Sequence[RateLimitItem], *ids: str, what: str) -> dict[str, str]:
        if not self.enabled:
            return {}
        headers: dict[str, str] = {}
        tightest = math.inf
        try:
            for item in items:
                if not await self._hit(item, *ids):
                    refused = await self._headers(item, 0, *ids, retry=True)
                    raise RateLimited(f"{what} is spent ({item}); retry in {refused['Retry-After']} s", headers=refused)
                stats = await self._stats(item, *ids)
                if stats.remaining < tightest:
                    tightest = stats.remaining
                    headers = _headers(item, stats.remaining, stats.reset_time)
        except RateLimited:
            raise
        except _StorageDown:
            return {}
        except Exception as exc:
            self._failed(exc)
            return {}
        return headers

    def _note_failure(self, address: str) -> None:
        # A sliding-window counter still weighs the previous window: remember the address for two windows.
        self._failing[address] = time.monotonic() + 2 * self._auth_window_s
        if len(self._failing) > self._prune_at:  # amortised: the next sweep waits until the dict has doubled
            now = time.monotonic()
            self._failing = {a: until for a, until in self._failing.items() if until > now}
            self._prune_at = max(MAX_FAILING_ADDRESSES, 2 * len(self._failing))

    def _failed_lately(self, address: str) -> bool:
        until = self._failing.get(address)
        if until is None:
            return False
        if until < time.monotonic():
            del self._failing[address]
            return False
        return True

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + STORAGE_RETRY_S
        logger.warning(
            "rate-limit storage %s failed, letting requests through for %g s: %s",
            self.storage_url.split("@")[-1],  # no password in the log
            STORAGE_RETRY_S,
            exc,
        )

    def _check_up(self) -> None:
        if self._down_until and time.monotonic() < self._down_until:
            raise _StorageDown

    async def _hit(self, item: RateLimitItem, *ids: str) -> bool:
        if self._sync is not None:
            return self._sync.hit(item, *ids)
        self._check_up()
        assert self._async is not None
        return await self._async.hit(item, *ids)

    async def _test(self, item: RateLimitItem, *ids: str) -> bool:
        if self._sync is not None:
            return self._sync.test(item, *ids)
        self._check_up()
        assert self._async is not None
        return await self._async.test(item, *ids)

    async def _stats(self, item: RateLimitItem, *ids: str) -> Any:
        if self._sync is not None:
            return self._sync.get_window_stats(item, *ids)
        assert self._async is not None
        return await self._async.get_window_stats(item, *ids)

    async def _headers(self, item: RateLimitItem, remaining: int, *ids: str, retry: bool = False) -> dict[str, str]:
        return _headers(item, remaining, (await self._stats(item, *ids)).reset_time, retry=retry)


def _headers(item: RateLimitItem, remaining: int, reset_time: float, *, retry: bool = False) -> dict[str, str]:
    reset = str(max(1, math.ceil(reset_time - time.time())))
    out = {"RateLimit-Limit": str(item.amount), "RateLimit-Remaining": str(remaining), "RateLimit-Reset": reset}
    if retry:
        out["Retry-After"] = reset
    return out
