"""FACADE_KEYS_URL: which store each URL makes, and clear refusals of the others."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from facade.config import Settings
from facade.keystore import make_key_store, sqlite_path
from facade.keystore.postgres import PostgresKeyStore, safe_target
from facade.keystore.sqlite import SqliteKeyStore

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_is_a_sqlite_file_relative_to_the_working_directory() -> None:
    url = Settings(_env_file=None).keys_url  # type: ignore[call-arg]
    assert url == "sqlite:///var/keys.sqlite3" and sqlite_path(url) == Path("var/keys.sqlite3")
    assert sqlite_path("sqlite:////data/keys.sqlite3") == Path("/data/keys.sqlite3")


def test_each_scheme_makes_its_store() -> None:
    sqlite = make_key_store("sqlite:///k.db", cache_s=1, timeout_s=1, pool_size=1)
    assert isinstance(sqlite, SqliteKeyStore) and sqlite.target == "sqlite:k.db"
    for url in ("postgresql://u:hunter2@db.internal:5433/keys", "postgres://u:hunter2@db.internal:5433/keys"):
        pg = make_key_store(url, cache_s=1, timeout_s=1, pool_size=1)
        assert isinstance(pg, PostgresKeyStore)
        assert pg.target == "postgresql://u@db.internal:5433/keys"  # what logs and errors show: no password
    assert "hunter2" not in safe_target("postgresql://db/keys?user=u&password=hunter2")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("var/keys.sqlite3", "unsupported key store"),
        ("mysql://u@h/db", "unsupported key store 'mysql'"),
        ("sqlite:///", "expected sqlite:///relative/path"),
        ("sqlite://keys.db", "expected sqlite:///relative/path"),
        ("postgresql://h/db?sslmode", "not a valid PostgreSQL URL"),
    ],
)
def test_unusable_urls_are_refused_when_the_settings_load(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(_env_file=None, keys_url=url)  # type: ignore[call-arg]


def test_the_entry_point_refuses_an_unknown_store_in_one_line(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "FACADE_ADMIN_TOKEN": "x" * 32,
        "FACADE_KEYS_URL": "mongodb://h/keys",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "facade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and "unsupported key store 'mongodb'" in proc.stderr
    assert "Traceback" not in proc.stderr
