"""Keys in PostgreSQL: one database shared by every replica.

psycopg 3's asyncio connection pool: a cache miss or an administration call
awaits the database without blocking the event loop. Each call is bounded by
``timeout_s`` (waiting for a connection, then the statement itself, which the
server also cancels past that time); past it, or with the server down, the call
raises ``KeyStoreUnavailable`` (503 with Retry-After), and for ``RETRY_S``
after that, calls fail at once rather than each waiting. The pool checks a
connection before lending it and reconnects in the background, so the store
recovers by itself when the server returns; a PostgreSQL that is down at start
does not stop the facade (``/ready`` says why it is not ready).

Replicas starting together may all try to create the table: creation runs
under a transaction-level advisory lock, so one creates it and the others find
it. A database whose table was created beforehand needs no CREATE privilege.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from facade.errors import KeyStoreUnavailable
from facade.keystore.base import DuplicateKeyId, KeyRecord, KeyStore

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
)
"""
# pg_advisory_xact_lock's key: a constant that other applications sharing the database do not use.
SCHEMA_LOCK = 0x5C4B4559
_COLUMNS = "id, name, created_at, revoked_at"
# How long the pool keeps retrying one connection before giving up on it (the next request starts a new
# attempt): short, so that a server back after a long outage is found within seconds, not minutes.
RECONNECT_S = 5.0
# After a failure, calls fail at once for this long instead of each waiting timeout_s: during an outage
# one call per interval probes the server, the others get their 503 without delay.
RETRY_S = 1.0


def safe_target(url: str) -> str:
    """``postgresql://user@host:port/db`` without the password, for logs and error messages."""
    params = conninfo_to_dict(url)
    user = f"{params['user']}@" if params.get("user") else ""
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{params.get('host', '')}{port}/{params.get('dbname', '')}"


def _text(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _record(row: Sequence[Any]) -> KeyRecord:
    return KeyRecord(id=row[0], name=row[1], created_at=_text(row[2]) or "", revoked_at=_text(row[3]))


class PostgresKeyStore(KeyStore):
    """PostgreSQL-backed key store, shared by every worker and replica that uses the same database."""

    def __init__(
        self,
        url: str,
        *,
        cache_s: float = 5.0,
        timeout_s: float = 2.0,
        pool_size: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(cache_s=cache_s, clock=clock)
        self.timeout_s = timeout_s
        self._target = safe_target(url)
        self._schema_ready = False
        self._down_until = 0.0
        self._schema_lock = asyncio.Lock()
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            name="facade-keys",
            timeout=timeout_s,
            reconnect_timeout=RECONNECT_S,
            # libpq's connect_timeout is whole seconds, at least 2.
            kwargs={"autocommit": True, "connect_timeout": max(2, round(timeout_s))},
            configure=self._configure,
            check=AsyncConnectionPool.check_connection,
        )

    @property
    def target(self) -> str:
        return self._target

    async def _configure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        # set_config rather than the URL's options, which may carry the operator's own settings.
        timeout_ms = str(round(self.timeout_s * 1000))
        await conn.execute("SELECT set_config('statement_timeout', %s, false)", (timeout_ms,))

    async def open(self) -> None:
        await self._pool.open(wait=False)
        try:
            await self.ping()  # creates the table now if the server is up; otherwise on first use
        except KeyStoreUnavailable as exc:
            logger.warning("key database not reachable at start, will retry: %s", exc.detail)

    async def close(self) -> None:
        await self._pool.close()

    async def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        async with self._schema_lock:
            if self._schema_ready:
                return
            async with self._pool.connection() as conn:
                found = await (await conn.execute("SELECT to_regclass('api_keys') IS NOT NULL")).fetchone()
                if not (found and found[0]):
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                        await conn.execute(SCHEMA)
            self._schema_ready = True

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if time.monotonic() < self._down_until:
            raise KeyStoreUnavailable(f"key database {self._target}: unreachable, next attempt within {RETRY_S:g} s")
        try:
            # The outer bound also covers a network that swallows packets (no error, no answer).
            async with asyncio.timeout(self.timeout_s * 2):
                await self._ensure_schema()
                async with self._pool.connection() as conn:
                    cur = await conn.execute(sql, params)
                    return await cur.fetchall() if cur.description else []
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateKeyId(str(exc)) from exc
        except (psycopg.OperationalError, psycopg.InterfaceError, TimeoutError) as exc:
            self._down_until = time.monotonic() + RETRY_S
            reason = str(exc) or f"no answer in {self.timeout_s * 2:g} s"
            raise KeyStoreUnavailable(f"key database {self._target}: {reason}") from exc

    async def _lookup(self, key_id: str) -> tuple[str, KeyRecord] | None:
        rows = await self._rows(f"SELECT secret_sha256, {_COLUMNS} FROM api_keys WHERE id = %s", (key_id,))  # noqa: S608
        return (rows[0][0], _record(rows[0][1:])) if rows else None

    async def _insert(self, record: KeyRecord, secret_digest: str) -> None:
        # Autocommit: the row is committed when the statement returns, before the key is shown.
        await self._rows(
            "INSERT INTO api_keys (id, name, secret_sha256, created_at) VALUES (%s, %s, %s, %s)",
            (record.id, record.name, secret_digest, record.created_at),
        )

    async def _revoke(self, key_id: str, when: str) -> KeyRecord | None:
        rows = await self._rows(
            f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, %s) WHERE id = %s RETURNING {_COLUMNS}",  # noqa: S608
            (when, key_id),
        )
        return _record(rows[0]) if rows else None

    async def list(self) -> list[KeyRecord]:
        return [_record(r) for r in await self._rows(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id")]  # noqa: S608

    async def ping(self) -> None:
        await self._rows("SELECT 1 FROM api_keys LIMIT 1")
