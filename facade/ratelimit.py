"""Rate limits with the ``limits`` library: per-key quotas, failed authentication per address, minting.

Storage comes from a URL (``FACADE_RATE_LIMIT_STORAGE``): ``memory://`` keeps
counters in the process (one worker, one replica), ``redis://host:6379``
shares them between workers and replicas with no code change. Answers past a
limit are 429 with ``Retry-After`` and the IETF draft's ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` headers (seconds). If the
storage fails (Redis down), requests pass and the failure is logged: an
outage of the counters must not become an outage of the service.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

from limits import RateLimitItem, parse_many, strategies
from limits.storage import storage_from_string

from facade.config import Settings
from facade.errors import RateLimited

logger = logging.getLogger(__name__)

_STRATEGIES: dict[str, type[strategies.RateLimiter]] = {
    "moving-window": strategies.MovingWindowRateLimiter,
    "fixed-window": strategies.FixedWindowRateLimiter,
    "sliding-window-counter": strategies.SlidingWindowCounterRateLimiter,
}


class RateLimits:
    """The facade's three families of limits over one storage."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.limiter = _STRATEGIES[settings.rate_limit_strategy](storage_from_string(settings.rate_limit_storage))
        self.per_key = parse_many(settings.rate_limit_per_key)
        self.auth_failures = parse_many(settings.rate_limit_auth_failures)
        self.minting = parse_many(settings.rate_limit_minting)

    def spend_key_quota(self, key_id: str) -> dict[str, str]:
        """Counts one request against a key's quota; returns the RateLimit-* headers to send.

        Raises:
            RateLimited: the quota is spent.
        """
        return self._hit(self.per_key, "key", key_id, what=f"the quota of API key {key_id}")

    def check_auth_allowed(self, address: str) -> None:
        """Refuses any authentication from an address that failed too often (even with a right secret).

        Raises:
            RateLimited: too many failed attempts from ``address``.
        """
        if not self.enabled:
            return
        try:
            for item in self.auth_failures:
                if not self.limiter.test(item, "auth-fail", address):
                    raise RateLimited(
                        f"too many failed authentication attempts from {address}; "
                        f"wait {self._retry_after(item, 'auth-fail', address)} s",
                        headers=self._headers(item, 0, "auth-fail", address, retry=True),
                    )
        except RateLimited:
            raise
        except Exception as exc:
            logger.warning("rate-limit storage failed, letting the request through: %s", exc)

    def record_auth_failure(self, address: str) -> None:
        """Counts one failed attempt (wrong, malformed or revoked key, wrong admin token) for ``address``."""
        if not self.enabled:
            return
        try:
            for item in self.auth_failures:
                self.limiter.hit(item, "auth-fail", address)
        except Exception as exc:
            logger.warning("rate-limit storage failed, not counting a failed attempt: %s", exc)

    def spend_minting(self) -> dict[str, str]:
        """Counts one minted key against the service-wide minting limit.

        Raises:
            RateLimited: too many keys minted in the window.
        """
        return self._hit(self.minting, "mint", "all", what="the key-minting limit")

    def _hit(self, items: Sequence[RateLimitItem], *ids: str, what: str) -> dict[str, str]:
        if not self.enabled:
            return {}
        headers: dict[str, str] = {}
        tightest = math.inf
        try:
            for item in items:
                if not self.limiter.hit(item, *ids):
                    wait = self._retry_after(item, *ids)
                    raise RateLimited(
                        f"{what} is spent ({item}); retry in {wait} s", headers=self._headers(item, 0, *ids, retry=True)
                    )
                remaining = self.limiter.get_window_stats(item, *ids).remaining
                if remaining < tightest:
                    tightest = remaining
                    headers = self._headers(item, remaining, *ids)
        except RateLimited:
            raise
        except Exception as exc:
            logger.warning("rate-limit storage failed, letting the request through: %s", exc)
            return {}
        return headers

    def _retry_after(self, item: RateLimitItem, *ids: str) -> int:
        reset = self.limiter.get_window_stats(item, *ids).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _headers(self, item: RateLimitItem, remaining: int, *ids: str, retry: bool = False) -> dict[str, str]:
        reset = str(self._retry_after(item, *ids))
        out = {"RateLimit-Limit": str(item.amount), "RateLimit-Remaining": str(remaining), "RateLimit-Reset": reset}
        if retry:
            out["Retry-After"] = reset
        return out
