"""API keys: minted with a CSPRNG, shown once, stored hashed in SQLite.

A key reads ``sc_<id>_<secret>``. The id is public (listing, logs, revocation);
only ``sha256(secret)`` is stored, and a presented secret is compared with
``hmac.compare_digest``. The secret has 256 bits of entropy, so a fast hash
suffices (no password stretching needed). SQLite in WAL mode lets every
worker process share the file; a verified key is cached per process for
``cache_s`` seconds, so a revocation reaches other workers within that time
(immediately in the worker that revoked it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from facade.errors import NotFound, Unauthorized

PREFIX = "sc"
SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""


@dataclass(frozen=True)
class KeyRecord:
    """What may be shown about a key: never its secret."""

    id: str
    name: str
    created_at: str
    revoked_at: str | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class KeyStore:
    """SQLite-backed key store, safe to share between threads of one process."""

    def __init__(self, path: Path, *, cache_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.cache_s = cache_s
        self._clock = clock
        self._local = threading.local()
        self._cache: dict[str, tuple[str, KeyRecord, float]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as conn:
            conn.execute(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=5000")
            self._local.conn = conn
        return conn

    def create(self, name: str) -> tuple[KeyRecord, str]:
        """Mints a key; returns its record and the full key (the only time it is visible)."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = KeyRecord(id=key_id, name=name, created_at=_now())
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, name, secret_sha256, created_at) VALUES (?, ?, ?, ?)",
                (key_id, name, _digest(secret), record.created_at),
            )
        return record, f"{PREFIX}_{key_id}_{secret}"

    def verify(self, presented: str | None) -> KeyRecord:
        """Returns the key's record, or raises Unauthorized saying what is wrong."""
        if not presented:
            raise Unauthorized("missing API key: send it in the x-api-key header")
        parts = presented.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
            raise Unauthorized("malformed API key")
        key_id, secret = parts[1], parts[2]
        cached = self._cache.get(key_id)
        if cached is not None and cached[2] > self._clock():
            stored, record = cached[0], cached[1]
        else:
            row = (
                self._conn()
                .execute("SELECT secret_sha256, name, created_at, revoked_at FROM api_keys WHERE id = ?", (key_id,))
                .fetchone()
            )
            if row is None:
                raise Unauthorized("unknown API key")
            stored, record = row[0], KeyRecord(key_id, row[1], row[2], row[3])
            self._cache[key_id] = (stored, record, self._clock() + self.cache_s)
        if not hmac.compare_digest(stored, _digest(secret)):
            raise Unauthorized("unknown API key")
        if record.revoked_at is not None:
            raise Unauthorized("this API key was revoked")
        return record

    def list(self) -> list[KeyRecord]:
        rows = self._conn().execute("SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id")
        return [KeyRecord(*row) for row in rows.fetchall()]

    def revoke(self, key_id: str) -> KeyRecord:
        """Revokes a key (idempotent); raises NotFound for an unknown id."""
        with self._conn() as conn:
            conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (_now(), key_id))
            row = conn.execute(
                "SELECT id, name, created_at, revoked_at FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        self._cache.pop(key_id, None)
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}")
        return KeyRecord(*row)

    def ping(self) -> None:
        """Raises if the database cannot be read."""
        self._conn().execute("SELECT 1 FROM api_keys LIMIT 1").fetchall()
