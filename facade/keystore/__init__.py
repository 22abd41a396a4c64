"""API keys behind one interface, stored where ``FACADE_KEYS_URL`` says.

- ``sqlite:///var/keys.sqlite3`` (the default; a path relative to the working
  directory, ``sqlite:////abs/path`` for an absolute one): one host, its workers
  share the file.
- ``postgresql://user:password@host:5432/db`` (or ``postgres://``, or any libpq
  connection string option in the query): every replica shares the keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from facade.keystore.base import KeyRecord, KeyStore
from facade.keystore.sqlite import SqliteKeyStore

__all__ = ["KeyRecord", "KeyStore", "check_url", "make_key_store", "sqlite_path"]

SQLITE = "sqlite:///"
POSTGRES = ("postgresql://", "postgres://")


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///`` URL (three slashes, then the path: a fourth makes it absolute).

    Raises:
        ValueError: not a sqlite URL, or no path.
    """
    if not url.startswith(SQLITE) or not url.removeprefix(SQLITE):
        raise ValueError(f"expected sqlite:///relative/path or sqlite:////absolute/path, got {url!r}")
    return Path(url.removeprefix(SQLITE))


def check_url(url: str) -> str:
    """Returns ``url`` if a store can be made from it.

    Raises:
        ValueError: saying which forms are accepted.
    """
    if url.startswith("sqlite:"):
        sqlite_path(url)
        return url
    if url.startswith(POSTGRES):
        # Imported only when configured: the SQLite default never loads the PostgreSQL driver.
        from psycopg import ProgrammingError

        from facade.keystore.postgres import safe_target

        try:
            safe_target(url)
        except ProgrammingError as exc:
            raise ValueError(f"not a valid PostgreSQL URL: {exc}") from None
        return url
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ValueError(
        f"unsupported key store {scheme!r}: use sqlite:///path/to/keys.sqlite3 or postgresql://user:pass@host:5432/db"
    )


def make_key_store(
    url: str,
    *,
    cache_s: float,
    timeout_s: float,
    pool_size: int,
    clock: Callable[[], float] = time.monotonic,
) -> KeyStore:
    """The store for ``url`` (not opened yet: ``await store.open()`` in the app's lifespan).

    Args:
        url: ``sqlite:///...`` or ``postgresql://...``.
        cache_s: how long a verified key is trusted without asking the database.
        timeout_s: the longest a call waits for the database before KeyStoreUnavailable.
        pool_size: PostgreSQL connections at most (SQLite: one per thread).
        clock: monotonic seconds, for the cache (tests move it by hand).
    """
    check_url(url)
    if url.startswith(POSTGRES):
        from facade.keystore.postgres import PostgresKeyStore

        return PostgresKeyStore(url, cache_s=cache_s, timeout_s=timeout_s, pool_size=pool_size, clock=clock)
    return SqliteKeyStore(sqlite_path(url), cache_s=cache_s, timeout_s=timeout_s, clock=clock)
