"""The key store's interface and what both implementations share: key format, hashing, the verified-key cache.

A key reads ``sc_<id>_<secret>``. The id is public (listing, logs, revocation);
only ``sha256(secret)`` is stored, and a presented secret is compared with
``hmac.compare_digest``. The secret has 256 bits of entropy, so a fast hash
suffices (no password stretching needed).

Verification is on every request's path. A verified key (its stored digest and
record, revoked or not) is cached per process for ``cache_s`` seconds: a cache
hit is a dict lookup and one SHA-256, with no I/O and no suspension of the
event loop. Only a miss awaits the database, and concurrent misses for one id
share a single lookup. A revocation therefore reaches every other process
(worker or replica) within ``cache_s``, and the revoking process at once.
Unknown ids are never cached: a key minted on one replica works on the others
straight away.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from facade.errors import NotFound, Unauthorized

PREFIX = "sc"
# A minted id that collides with an existing one is drawn again (48-bit ids: rare, but not impossible).
MINT_ATTEMPTS = 3


class DuplicateKeyId(Exception):
    """An insert hit an existing id (the caller draws another)."""


@dataclass(frozen=True)
class KeyRecord:
    """What may be shown about a key: never its secret."""

    id: str
    name: str
    created_at: str
    revoked_at: str | None = None


@dataclass(frozen=True)
class _Entry:
    digest: str
    record: KeyRecord
    expires: float


def digest(secret: str) -> str:
    """The stored form of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def now_text() -> str:
    """The current UTC time as both stores show it (ISO 8601, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _parse(presented: str | None) -> tuple[str, str]:
    if not presented:
        raise Unauthorized("missing API key: send it in the x-api-key header")
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        raise Unauthorized("malformed API key")
    return parts[1], parts[2]


class KeyStore(ABC):
    """Mints, verifies, lists and revokes API keys; subclasses say where the rows live.

    ``open`` and ``close`` run in the app's lifespan, on the event loop that serves
    requests. Every public method may raise ``KeyStoreUnavailable``.
    """

    def __init__(self, *, cache_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.cache_s = cache_s
        self._clock = clock
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[tuple[str, KeyRecord] | None]] = {}

    @property
    @abstractmethod
    def target(self) -> str:
        """Where the keys live, safe to log (no password)."""

    @abstractmethod
    async def open(self) -> None:
        """Prepares the store (connections, schema), in the app's lifespan."""

    @abstractmethod
    async def close(self) -> None:
        """Releases connections."""

    @abstractmethod
    async def _lookup(self, key_id: str) -> tuple[str, KeyRecord] | None:
        """The stored digest and record of ``key_id``, or None."""

    @abstractmethod
    async def _insert(self, record: KeyRecord, secret_digest: str) -> None:
        """Stores a new key, committed before returning; raises DuplicateKeyId if the id exists."""

    @abstractmethod
    async def _revoke(self, key_id: str, when: str) -> KeyRecord | None:
        """Marks the key revoked at ``when`` unless it already is; its record, or None if unknown."""

    @abstractmethod
    async def list(self) -> list[KeyRecord]:
        """Every key, oldest first."""

    @abstractmethod
    async def ping(self) -> None:
        """Raises KeyStoreUnavailable unless the keys can be read now."""

    async def create(self, name: str) -> tuple[KeyRecord, str]:
        """Mints a key; returns its record and the full key (the only time it is visible).

        The row is committed before this returns, so an acknowledged key survives
        the process being killed right after.
        """
        for attempt in range(MINT_ATTEMPTS):
            key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
            record = KeyRecord(id=key_id, name=name, created_at=now_text())
            try:
                await self._insert(record, digest(secret))
            except DuplicateKeyId:
                if attempt == MINT_ATTEMPTS - 1:
                    raise
                continue
            return record, f"{PREFIX}_{key_id}_{secret}"
        raise AssertionError("unreachable")  # pragma: no cover

    async def verify(self, presented: str | None) -> KeyRecord:
        """Returns the key's record, or raises Unauthorized saying what is wrong.

        Raises:
            Unauthorized: missing, malformed, unknown or revoked key.
            KeyStoreUnavailable: a cache miss while the database is unreachable.
        """
        key_id, secret = _parse(presented)
        entry = self._cache.get(key_id)
        if entry is not None and entry.expires > self._clock():
            stored, record = entry.digest, entry.record
        else:
            found = await self._fetch(key_id)
            if found is None:
                raise Unauthorized("unknown API key")
            stored, record = found
        if not hmac.compare_digest(stored, digest(secret)):
            raise Unauthorized("unknown API key")
        if record.revoked_at is not None:
            raise Unauthorized("this API key was revoked")
        return record

    async def revoke(self, key_id: str) -> KeyRecord:
        """Revokes a key (idempotent); this process refuses it at once, others within ``cache_s``.

        Raises:
            NotFound: no key has this id.
        """
        record = await self._revoke(key_id, now_text())
        # A lookup still in flight may have read the row before the update: it must not refill the cache.
        self._cache.pop(key_id, None)
        self._inflight.pop(key_id, None)
        if record is None:
            raise NotFound(f"no API key with id {key_id!r}")
        return record

    async def _fetch(self, key_id: str) -> tuple[str, KeyRecord] | None:
        future = self._inflight.get(key_id)
        if future is None:
            # The entry's lifetime counts from before the read: a row read before a revocation is
            # trusted for at most cache_s after that revocation, however long the read took.
            expires = self._clock() + self.cache_s
            future = asyncio.ensure_future(self._lookup(key_id))
            self._inflight[key_id] = future
            future.add_done_callback(lambda done: self._settle(key_id, done, expires))
        # Shielded: one client hanging up must not cancel the lookup others are waiting for.
        return await asyncio.shield(future)

    def _settle(self, key_id: str, done: asyncio.Future[tuple[str, KeyRecord] | None], expires: float) -> None:
        if self._inflight.get(key_id) is not done:
            return  # revoked meanwhile: the answer may be stale
        del self._inflight[key_id]
        if done.cancelled() or done.exception() is not None:
            return
        found = done.result()
        if found is not None:
            self._cache[key_id] = _Entry(found[0], found[1], expires)
