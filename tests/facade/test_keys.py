"""The key store's behaviour, the same tests on both implementations: SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from facade.errors import NotFound, Unauthorized
from facade.keystore import KeyRecord, KeyStore, make_key_store, sqlite_path
from tests.servers import PostgresServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgresql"])
def keys_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@asynccontextmanager
async def opened(
    url: str, *, cache_s: float = 5.0, clock: Callable[[], float] | None = None
) -> AsyncIterator[KeyStore]:
    """A store as the app's lifespan makes it: opened on the running loop, closed at the end."""
    extra = {"clock": clock} if clock else {}
    store = make_key_store(url, cache_s=cache_s, timeout_s=2.0, pool_size=4, **extra)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def stored_rows(url: str) -> list[tuple[object, ...]]:
    """Every row of the keys table, read behind the store's back."""
    if url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(url)) as conn:
            return conn.execute("SELECT * FROM api_keys").fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT * FROM api_keys").fetchall()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_keys_are_stored_hashed_and_survive_a_restart(keys_url: str) -> None:
    async with opened(keys_url) as store:
        record, key = await store.create("alice")
    secret = key.split("_", 2)[2]
    assert key == f"sc_{record.id}_{secret}" and len(secret) >= 43  # 256 bits, URL-safe base64
    rows = stored_rows(keys_url)
    assert len(rows) == 1 and secret not in repr(rows) and key not in repr(rows)
    # A new process (a restart, another worker or replica) opens the same database and accepts the key.
    async with opened(keys_url) as again:
        assert await again.verify(key) == record
        assert await again.list() == [record]


async def test_keys_are_unique(keys_url: str) -> None:
    async with opened(keys_url) as store:
        keys = {(await store.create("x"))[1] for _ in range(50)}
        assert len(keys) == 50 and len({k.split("_")[1] for k in keys}) == 50


@pytest.mark.parametrize(
    ("presented", "message"),
    [(None, "missing"), ("", "missing"), ("sc_", "malformed"), ("xx_a_b", "malformed"), ("sc_nope_secret", "unknown")],
)
async def test_bad_keys(keys_url: str, presented: str | None, message: str) -> None:
    async with opened(keys_url) as store:
        with pytest.raises(Unauthorized, match=message):
            await store.verify(presented)


async def test_wrong_secret_for_a_real_id_is_refused_even_when_the_key_is_cached(keys_url: str) -> None:
    async with opened(keys_url) as store:
        record, key = await store.create("bob")
        with pytest.raises(Unauthorized, match="unknown"):
            await store.verify(f"sc_{record.id}_{'A' * 43}")
        assert (await store.verify(key)).name == "bob"
        with pytest.raises(Unauthorized, match="unknown"):
            await store.verify(f"sc_{record.id}_{'A' * 43}")  # now from the cache


async def test_revocation_is_immediate_where_it_happens_and_reaches_other_processes_after_the_cache_time(
    keys_url: str,
) -> None:
    clock = Clock()
    async with opened(keys_url, clock=clock) as worker_a, opened(keys_url, clock=clock) as worker_b:
        record, key = await worker_a.create("carol")
        await worker_a.verify(key)
        await worker_b.verify(key)  # both now trust the key for 5 s
        revoked = await worker_a.revoke(record.id)
        assert revoked.revoked_at is not None and revoked.id == record.id
        with pytest.raises(Unauthorized, match="revoked"):
            await worker_a.verify(key)  # the revoking process drops its cached entry at once
        clock.now += 4.9
        assert (await worker_b.verify(key)).id == record.id  # stale in the other one until its entry expires
        clock.now += 0.2
        with pytest.raises(Unauthorized, match="revoked"):
            await worker_b.verify(key)
        # Revoking again changes nothing; an unknown id is a 404.
        assert await worker_b.revoke(record.id) == revoked
        assert (await worker_a.list())[0] == revoked
        with pytest.raises(NotFound):
            await worker_a.revoke("missing")


async def test_a_key_minted_elsewhere_is_accepted_at_once(keys_url: str) -> None:
    """Unknown ids are never cached: a replica that just refused an id accepts it once it exists."""
    async with opened(keys_url) as minting, opened(keys_url) as other:
        with pytest.raises(Unauthorized, match="unknown"):
            await other.verify("sc_000000000000_" + "A" * 43)
        record, key = await minting.create("dave")
        assert await other.verify(key) == record


async def test_a_lookup_in_flight_during_a_revocation_does_not_refill_the_cache(keys_url: str) -> None:
    async with opened(keys_url) as store:
        record, key = await store.create("erin")
        read, release = asyncio.Event(), asyncio.Event()
        real_lookup = store._lookup

        async def slow_lookup(key_id: str) -> tuple[str, KeyRecord] | None:
            found = await real_lookup(key_id)  # the row as it was before the revocation
            read.set()
            await release.wait()
            return found

        store._lookup = slow_lookup  # type: ignore[method-assign]
        pending = asyncio.create_task(store.verify(key))
        await read.wait()
        store._lookup = real_lookup  # type: ignore[method-assign]
        await store.revoke(record.id)
        release.set()
        assert (await pending).id == record.id  # that request was in flight before the revocation
        with pytest.raises(Unauthorized, match="revoked"):
            await store.verify(key)


async def test_concurrent_misses_for_one_key_share_one_lookup(keys_url: str) -> None:
    async with opened(keys_url) as store:
        _, key = await store.create("frank")
        lookups = 0
        real_lookup = store._lookup

        async def counted(key_id: str) -> tuple[str, KeyRecord] | None:
            nonlocal lookups
            lookups += 1
            return await real_lookup(key_id)

        store._lookup = counted  # type: ignore[method-assign]
        records = await asyncio.gather(*(store.verify(key) for _ in range(20)))
        assert len({r.id for r in records}) == 1 and lookups == 1
        await store.verify(key)
        assert lookups == 1  # and then the cache answers


async def test_concurrent_minting_loses_nothing(keys_url: str) -> None:
    async with opened(keys_url) as store:
        made = await asyncio.gather(*(store.create(f"t{i}") for i in range(40)))
        listed = await store.list()
        assert {r.id for r in listed} == {r.id for r, _ in made} and len(listed) == 40
        assert [await store.verify(k) for _, k in made] == [r for r, _ in made]


async def test_several_replicas_creating_the_schema_at_once(keys_url: str) -> None:
    """Replicas start together on an empty database: each opens, none fails, and all see one table."""
    stores = [make_key_store(keys_url, cache_s=5.0, timeout_s=5.0, pool_size=2) for _ in range(6)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        made = await asyncio.gather(*(s.create("r") for s in stores))
        for s in stores:
            assert len(await s.list()) == 6
            await s.ping()
        assert await stores[0].verify(made[-1][1]) == made[-1][0]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_table_made_beforehand_needs_no_create_privilege(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    """A DBA may create the table and grant the facade's role only what it uses."""
    import psycopg

    from facade.keystore.postgres import SCHEMA

    role, password = "facade_app", "app-password-1"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(SCHEMA)
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        admin.execute(f"GRANT SELECT, INSERT, UPDATE ON api_keys TO {role}")
    app_url = f"postgresql://{role}:{password}@127.0.0.1:{postgres_server.port}/{postgres_url.rsplit('/', 1)[1]}"
    async with opened(app_url) as store:
        record, key = await store.create("limited")
        assert await store.verify(key) == record
        assert (await store.revoke(record.id)).revoked_at is not None
        assert len(await store.list()) == 1
