"""Real PostgreSQL and Redis servers for the tests, on loopback, in temporary folders, stopped at the end.

The binaries come from Debian's packages (`.ci/run` installs them). PostgreSQL
refuses to run as root, so as root its programs run as the ``postgres`` system
user (``runuser``) on a folder that user owns. A missing binary skips the tests
that need it, with the reason, unless ``STOCKCAST_REQUIRE_SERVERS=1`` (set by
CI), where it fails them: CI must not pass by skipping.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loadtest.procs import free_port

REQUIRE = os.environ.get("STOCKCAST_REQUIRE_SERVERS") == "1"


def _missing(what: str) -> None:
    if REQUIRE:
        pytest.fail(f"{what} (STOCKCAST_REQUIRE_SERVERS=1)")
    pytest.skip(what)


def postgres_bindir() -> Path | None:
    """Where ``initdb`` and ``postgres`` are: on PATH, else Debian's /usr/lib/postgresql/<major>/bin (newest)."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).parent] if on_path else []
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    candidates += versions
    return next((d for d in candidates if (d / "initdb").is_file() and (d / "postgres").is_file()), None)


def _wait(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not start in {timeout:.0f} s: {exc}") from exc
            time.sleep(0.05)


class PostgresServer:
    """A throwaway cluster: ``initdb`` once, then ``start``/``stop`` as often as a test needs (same port, data)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="stockcast-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.password = secrets.token_urlsafe(16)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._databases = 0
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        # Password auth over TCP, as a deployment has it (the URL carries the password).
        self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )

    def _argv(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_root else args

    def _run(self, args: list[str]) -> None:
        done = subprocess.run(self._argv(args), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        """Starts the server (a test's outage ends here) and waits until it accepts connections."""
        import psycopg

        args = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.root)]
        # A test server: durability of the server's own files is not what the tests check.
        for setting in ("listen_addresses=127.0.0.1", "fsync=off", "full_page_writes=off", "max_connections=200"):
            args += ["-c", setting]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self._argv(args), stdout=log, stderr=subprocess.STDOUT)
        _wait(lambda: psycopg.connect(self.url(), connect_timeout=2).close(), f"PostgreSQL (log: {self.log})")

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected at once (what an outage looks like to them)."""
        if self.proc is None:
            return
        pidfile = self.data / "postmaster.pid"
        if pidfile.exists():
            # The postmaster itself, not runuser: SIGINT is PostgreSQL's "fast" shutdown.
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        self._databases += 1
        name = f"keys_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """``redis-server`` on a free loopback port, nothing saved to disk."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="stockcast-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        with (self.root / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

        def ping() -> None:
            with redis.Redis.from_url(self.url, socket_timeout=1) as client:
                client.ping()

        _wait(ping, "redis-server")

    def flush(self) -> None:
        import redis

        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            client.flushall()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def new_postgres() -> PostgresServer:
    """A started server of its own (for a test that stops it); skips or fails when PostgreSQL is missing."""
    bindir = postgres_bindir()
    if bindir is None:
        _missing("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    assert bindir is not None
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _missing("runuser is needed to run PostgreSQL as the postgres user")
    server = PostgresServer(bindir)
    try:
        server.start()
    except BaseException:
        server.remove()
        raise
    return server


def new_redis() -> RedisServer:
    """A started redis-server of its own; skips or fails when it is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server not found (Debian: apt-get install redis-server)")
    assert binary is not None
    server = RedisServer(binary)
    try:
        server.start()
    except BaseException:
        server.remove()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = new_postgres()
    yield server
    server.remove()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's PostgreSQL (password included)."""
    return postgres_server.create_database()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = new_redis()
    yield server
    server.remove()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url
