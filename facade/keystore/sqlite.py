"""Keys in a SQLite file: the embedded default, for one host.

WAL mode lets every worker process share the file: readers never wait for the
writer, so a cache miss reads inline on the event loop (a primary-key lookup,
well under a millisecond). Writes (minting, revoking) may wait for another
worker's write lock, so they run in a thread. Each thread has its own
connection; statements run in autocommit mode, so a minted key is committed
when ``_insert`` returns.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from facade.errors import KeyStoreUnavailable
from facade.keystore.base import DuplicateKeyId, KeyRecord, KeyStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""
_COLUMNS = "id, name, created_at, revoked_at"


class SqliteKeyStore(KeyStore):
    """SQLite-backed key store, shared by the workers of one host through the file."""

    def __init__(
        self, path: Path, *, cache_s: float = 5.0, timeout_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(cache_s=cache_s, clock=clock)
        self.path = path
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    @property
    def target(self) -> str:
        return f"sqlite:{self.path}"

    async def open(self) -> None:
        # A path that cannot be created or opened is a configuration error: the facade does not start.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn().execute(SCHEMA)

    async def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # check_same_thread=False only so that close() may close every thread's connection.
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _rows(self, sql: str, params: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        try:
            # fetchall() steps the statement to its end: an autocommit write is committed when it returns.
            rows: list[tuple[str, ...]] = self._conn().execute(sql, params).fetchall()
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyId(str(exc)) from exc
        except sqlite3.OperationalError as exc:
            raise KeyStoreUnavailable(f"key database {self.target}: {exc}") from exc
        return rows

    async def _lookup(self, key_id: str) -> tuple[str, KeyRecord] | None:
        rows = self._rows(f"SELECT secret_sha256, {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))  # noqa: S608
        if not rows:
            return None
        stored, *fields = rows[0]
        return stored, KeyRecord(*fields)

    async def _insert(self, record: KeyRecord, secret_digest: str) -> None:
        sql = "INSERT INTO api_keys (id, name, secret_sha256, created_at) VALUES (?, ?, ?, ?)"
        await asyncio.to_thread(self._rows, sql, (record.id, record.name, secret_digest, record.created_at))

    async def _revoke(self, key_id: str, when: str) -> KeyRecord | None:
        sql = f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING {_COLUMNS}"  # noqa: S608
        rows = await asyncio.to_thread(self._rows, sql, (when, key_id))
        return KeyRecord(*rows[0]) if rows else None

    async def list(self) -> list[KeyRecord]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id")  # noqa: S608
        return [KeyRecord(*row) for row in rows]

    async def ping(self) -> None:
        self._rows("SELECT 1 FROM api_keys LIMIT 1")
