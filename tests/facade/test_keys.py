import sqlite3
import threading
from pathlib import Path

import pytest

from facade.errors import NotFound, Unauthorized
from facade.keys import KeyStore


def test_keys_are_stored_hashed_and_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "keys.sqlite3"
    record, key = KeyStore(db).create("alice")
    secret = key.split("_", 2)[2]
    assert len(secret) >= 43  # 256 bits, URL-safe base64
    rows = sqlite3.connect(db).execute("SELECT * FROM api_keys").fetchall()
    assert secret not in repr(rows) and key not in repr(rows)
    # A new process (a restart, another worker) opens the same file and accepts the key.
    assert KeyStore(db).verify(key).id == record.id


def test_keys_are_unique(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "k.db")
    keys = {store.create("x")[1] for _ in range(50)}
    assert len(keys) == 50


@pytest.mark.parametrize(
    ("presented", "message"),
    [(None, "missing"), ("", "missing"), ("sc_", "malformed"), ("xx_a_b", "malformed"), ("sc_nope_secret", "unknown")],
)
def test_bad_keys(tmp_path: Path, presented: str | None, message: str) -> None:
    with pytest.raises(Unauthorized, match=message):
        KeyStore(tmp_path / "k.db").verify(presented)


def test_wrong_secret_for_a_real_id(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "k.db")
    record, key = store.create("bob")
    with pytest.raises(Unauthorized, match="unknown"):
        store.verify(f"sc_{record.id}_{'A' * 43}")
    assert store.verify(key).name == "bob"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_revocation_is_immediate_where_it_happens_and_reaches_other_workers_after_the_cache_time(
    tmp_path: Path,
) -> None:
    db, clock = tmp_path / "k.db", Clock()
    worker_a, worker_b = KeyStore(db, cache_s=5.0, clock=clock), KeyStore(db, cache_s=5.0, clock=clock)
    record, key = worker_a.create("carol")
    worker_a.verify(key)
    worker_b.verify(key)  # both workers now trust the key for 5 s
    worker_a.revoke(record.id)
    with pytest.raises(Unauthorized, match="revoked"):
        worker_a.verify(key)  # the revoking worker drops its cached entry at once
    clock.now += 4.9
    assert worker_b.verify(key).id == record.id  # stale in the other worker until its entry expires
    clock.now += 0.2
    with pytest.raises(Unauthorized, match="revoked"):
        worker_b.verify(key)
    assert worker_a.list()[0].revoked_at is not None
    with pytest.raises(NotFound):
        worker_a.revoke("missing")


def test_concurrent_minting_from_threads(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "k.db")
    made: list[str] = []

    def mint() -> None:
        for _ in range(20):
            made.append(store.create("t")[1])

    threads = [threading.Thread(target=mint) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list()) == 80
    assert all(store.verify(k) for k in made)
