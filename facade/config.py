"""The facade's settings, read from the environment (``FACADE_*``) and a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the facade; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="FACADE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    # auto: tfserving when an address is set, else embedded (TensorFlow in-process).
    backend: Literal["auto", "embedded", "tfserving"] = "auto"
    tfserving_address: str | None = Field(default=None, description="host:port of TF Serving's gRPC API")
    models_dir: Path = Path("models")
    default_ticker: str = "AAPL"
    # graph: one call to the in-graph forecast signature; loop: the facade feeds serving_default step by step.
    # graph is the default: twice the 10-step throughput of the loop on both backends (docs/benchmarks.md).
    forecast_mode: Literal["loop", "graph"] = "graph"

    max_steps: int = Field(default=60, ge=1, le=365)
    max_prices: int = Field(default=10_000, ge=1)
    max_upload_bytes: int = Field(default=1_000_000, ge=1_000)

    request_timeout_s: float = Field(default=5.0, gt=0)
    version_refresh_s: float = Field(default=1.0, gt=0)
    batch_max_size: int = Field(default=32, ge=1)
    # 0: never wait for more rows; under load, batches form while the previous one runs.
    batch_timeout_ms: float = Field(default=0.0, ge=0)

    keys_db: Path = Path("var/keys.sqlite3")
    key_cache_s: float = Field(default=5.0, ge=0)
    admin_token: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    log_level: str = "INFO"
    log_json: bool = True

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
        if self.environment == "production" and len(self.admin_token.get_secret_value()) < 16:
            raise ValueError("FACADE_ADMIN_TOKEN must be at least 16 characters in production")
        if self.backend_kind == "tfserving" and not self.tfserving_address:
            raise ValueError("FACADE_BACKEND=tfserving needs FACADE_TFSERVING_ADDRESS (host:port of TF Serving's gRPC)")


@lru_cache
def get_settings() -> Settings:
    return Settings()
