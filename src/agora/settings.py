"""Every knob Agora has, read from `AGORA_*` environment variables (or `.env`).

Defaults are safe and need no servers: a SQLite file under `data_dir`, in-process caches.
`.env.example` documents each variable; keep the two in step.
"""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024

Environment = Literal["development", "test", "production"]


def _split_csv(value: object) -> object:
    """Lists come from the environment as `a,b,c` (or a JSON list)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Agora's configuration. One instance is passed to `create_app`; nothing reads env later."""

    model_config = SettingsConfigDict(
        env_prefix="AGORA_", env_file=".env", extra="ignore", frozen=True
    )

    env: Environment = "development"

    # --- server -------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    public_url: str | None = None
    """Base URL clients use (e.g. https://api.example.com); links use the request's otherwise."""

    # --- storage ------------------------------------------------------------
    data_dir: Path = Path("var")
    database_url: str | None = None
    """SQLAlchemy async URL; default `sqlite+aiosqlite:///<data_dir>/agora.db`."""
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_timeout: float = Field(default=5.0, gt=0)
    db_pool_recycle: int = Field(default=1800, ge=-1)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    db_echo: bool = False

    # --- secrets ------------------------------------------------------------
    secret_key: SecretStr | None = None
    """Signs cursors and URLs. Required in production; generated into data_dir otherwise."""

    # --- HTTP behaviour -----------------------------------------------------
    max_body_bytes: int = Field(default=1 * MiB, ge=0)
    max_upload_bytes: int = Field(default=10 * MiB, ge=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = True
    force_https: bool = False
    hsts_max_age: int = Field(default=63_072_000, ge=0)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1"])
    gzip_min_bytes: int = Field(default=1024, ge=0)
    docs_enabled: bool = True
    ready_timeout: float = Field(default=2.0, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)

    # --- logging ------------------------------------------------------------
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    access_log: bool = True

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _lists_from_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"CORS origin {origin!r} must start with http:// or https://")
        return [origin.rstrip("/") for origin in origins]

    @model_validator(mode="after")
    def _safe_combinations(self) -> "Settings":
        if "*" in self.cors_origins and self.cors_allow_credentials:
            raise ValueError(
                "AGORA_CORS_ORIGINS='*' cannot be combined with credentials; list the origins"
            )
        if self.env == "production" and self.secret_key is None:
            raise ValueError("AGORA_SECRET_KEY is required when AGORA_ENV=production")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'agora.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
