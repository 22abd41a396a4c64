"""The facade's settings, read from the environment (``FACADE_*``) and a ``.env`` file."""

from __future__ import annotations

import csv
import logging
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.contract import MAX_FORECAST_STEPS
from facade.keystore import check_url

logger = logging.getLogger(__name__)

# Values found in examples, tutorials and this project's own history: never acceptable as a secret.
WELL_KNOWN_TOKENS = frozenset(
    {"dev-admin-token", "admin", "admin-token", "changeme", "change-me", "secret", "password", "token", "test"}
)
MIN_TOKEN_CHARS = 16


class Settings(BaseSettings):
    """Every knob of the facade; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="FACADE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    # auto: tfserving when an address is set, else embedded (TensorFlow in-process).
    backend: Literal["auto", "embedded", "tfserving"] = "auto"
    # Any gRPC target: host:port, dns:///tfserving-headless:8500 (round_robin over every address), ipv4:a:p,b:p.
    tfserving_address: str | None = Field(default=None, description="gRPC target of TF Serving")
    # tfserving backend: the models to serve (comma-separated), else the names in TF Serving's model config
    # file (also the source of version labels), else the default ticker's model. It reads no model folder.
    models: str = ""
    model_config_file: Path | None = None
    # embedded backend: the version folders it loads.
    models_dir: Path = Path("models")
    default_ticker: str = "AAPL"
    # graph: one call to the in-graph forecast signature; loop: the facade feeds serving_default step by step.
    # graph is the default: twice the 10-step throughput of the loop on both backends (docs/benchmarks.md).
    forecast_mode: Literal["loop", "graph"] = "graph"

    # Request limits; each is a constraint of the OpenAPI schema (facade/schemas.py, facade/routes/predict.py).
    max_steps: int = Field(default=60, ge=1, le=MAX_FORECAST_STEPS)
    max_prices: int = Field(default=10_000, ge=1, description="longest history, JSON prices or CSV data rows")
    max_upload_bytes: int = Field(default=1_000_000, ge=1_000)
    csv_max_columns: int = Field(default=100, ge=2)
    csv_max_field_chars: int = Field(default=256, ge=32, le=csv.field_size_limit())

    request_timeout_s: float = Field(default=5.0, gt=0)
    version_refresh_s: float = Field(default=1.0, gt=0)
    batch_max_size: int = Field(default=32, ge=1)
    # TensorFlow's thread pools in the embedded backend. The exported graph is one chain of small ops: more
    # inter-op threads only add hand-offs (one thread: a third less CPU per call, docs/benchmarks.md).
    # 0 leaves TensorFlow's default (one per core).
    embedded_inter_op_threads: int = Field(default=1, ge=0)
    embedded_intra_op_threads: int = Field(default=0, ge=0)
    # How long a Python thread may hold the GIL while another waits (sys.setswitchinterval), in microseconds.
    # The batcher's thread needs it back after every TensorFlow call; Python's 5 ms default leaves the batch's
    # requests waiting (100 us: about 10% more 1-step throughput, docs/benchmarks.md). 0 leaves Python's default.
    embedded_switch_interval_us: int = Field(default=100, ge=0, le=1_000_000)
    # 0: never wait for more rows; under load, batches form while the previous one runs.
    batch_timeout_ms: float = Field(default=0.0, ge=0)

    # Where API keys live (facade/keystore): sqlite:///relative/path (one host) or postgresql://... (replicas).
    keys_url: str = "sqlite:///var/keys.sqlite3"
    # How long a process trusts a verified key: a revocation reaches the other workers and replicas within it.
    key_cache_s: float = Field(default=5.0, ge=0)
    keys_timeout_s: float = Field(default=2.0, gt=0, description="longest wait for the key database, else 503")
    keys_pool_size: int = Field(default=4, ge=1, description="PostgreSQL connections per worker process, at most")
    admin_token: SecretStr | None = None

    # Rate limits: `limits` strings ("600/minute", "10/second;100/hour"), storage by URL (memory:// per
    # process; redis://host:6379 shares them between replicas). docs/reliability.md explains each.
    rate_limit_enabled: bool = True
    rate_limit_storage: str = "memory://"
    # sliding-window-counter: two counters per key and window, O(1) per request whatever the quota; moving-window
    # keeps one entry per request in the window (exact, but its cost grows with the quota: docs/benchmarks.md).
    rate_limit_strategy: Literal["moving-window", "fixed-window", "sliding-window-counter"] = "sliding-window-counter"
    rate_limit_per_key: str = "6000/minute"
    rate_limit_auth_failures: str = "20/minute"
    rate_limit_minting: str = "30/minute"

    # HTTP-layer limits (facade/server.py and facade/middleware.py).
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, description="request line plus all headers")
    max_headers: int = Field(default=64, ge=8)
    header_timeout_s: float = Field(default=10.0, gt=0, description="time to receive the request line and headers")
    body_timeout_s: float = Field(default=30.0, gt=0, description="time to receive the whole body, else 408")
    keep_alive_s: int = Field(default=5, ge=1)
    graceful_shutdown_s: int = Field(default=15, ge=1)
    limit_concurrency: int | None = Field(default=None, ge=1, description="uvicorn answers 503 past this")
    backlog: int = Field(default=2048, ge=16)
    forwarded_allow_ips: str = "127.0.0.1"

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    log_level: str = "INFO"
    log_json: bool = True

    def served_models(self) -> list[str]:
        """``FACADE_MODELS`` as a list (empty when unset)."""
        return [m.strip() for m in self.models.split(",") if m.strip()]

    @property
    def backend_kind(self) -> Literal["embedded", "tfserving"]:
        if self.backend == "auto":
            return "tfserving" if self.tfserving_address else "embedded"
        return self.backend

    def check_startup(self) -> None:
        """Refuses configurations that would run open or cannot work.

        Raises:
            ValueError: with the setting to fix.
        """
        if self.admin_token is None or not self.admin_token.get_secret_value().strip():
            raise ValueError(
                "FACADE_ADMIN_TOKEN is not set: it guards API-key minting, and the facade will not run without it "
                "(set it to a long random string, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        weakness = self.admin_token_weakness()
        if weakness and self.environment == "production":
            raise ValueError(f"FACADE_ADMIN_TOKEN is weak ({weakness}); the facade refuses it in production")
        if self.backend_kind == "tfserving" and not self.tfserving_address:
            raise ValueError("FACADE_BACKEND=tfserving needs FACADE_TFSERVING_ADDRESS (host:port of TF Serving's gRPC)")

    def admin_token_weakness(self) -> str | None:
        """Why the admin token is guessable, or None when it is not."""
        token = self.admin_token.get_secret_value() if self.admin_token else ""
        if token.strip().lower() in WELL_KNOWN_TOKENS:
            return "a well-known value"
        if len(token) < MIN_TOKEN_CHARS:
            return f"shorter than {MIN_TOKEN_CHARS} characters"
        return None

    def warn_if_weak(self) -> None:
        """Logs a loud warning about a weak admin token (development only: production refuses it)."""
        weakness = self.admin_token_weakness()
        if weakness:
            logger.warning(
                "!!! WEAK ADMIN TOKEN (%s): anyone who guesses it can mint API keys. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` (or use `make run`, which does). !!!",
                weakness,
            )

    @field_validator("keys_url")
    @classmethod
    def _known_key_store(cls, url: str) -> str:
        return check_url(url)


@lru_cache
def get_settings() -> Settings:
    return Settings()
