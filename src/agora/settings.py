"""Every knob Agora has, read from `AGORA_*` environment variables (or `.env`).

Defaults are safe and need no servers: a SQLite file under `data_dir`, in-process caches.
`.env.example` documents each variable; keep the two in step.
"""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024
BULK_DB_TIMEOUT = 3600.0
"""Seconds a migration or a seeding step may spend on one database call."""

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
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    """Overflow connections are closed again on return: under sustained load they churn."""
    db_pool_recycle: int = Field(default=1800, ge=-1)
    db_timeout: float = Field(default=5.0, gt=0, le=3600)
    """Longest one database call (pool, connect, statements, commit) may take: then 503.
    Enforced by Agora even when the database does not answer; also the server-side bound."""
    db_echo: bool = False

    # --- secrets ------------------------------------------------------------
    secret_key: SecretStr | None = None
    """Signs cursors and URLs. Required in production; generated into data_dir otherwise."""

    # --- redis --------------------------------------------------------------
    redis_url: str | None = None
    """Shared cache, rate limits and broadcasts across instances; in-process when unset."""
    redis_prefix: str = "agora:"
    redis_timeout: float = Field(default=0.5, gt=0)
    redis_max_connections: int = Field(default=64, ge=1)
    """Per instance; a request waits up to `redis_timeout` for a free connection."""
    redis_breaker_threshold: int = Field(default=3, ge=1)
    """Failed Redis calls in a row after which Agora stops calling it and uses its fallbacks."""
    redis_probe_seconds: float = Field(default=1.0, gt=0)
    """While Redis is considered down, how often it is probed (in the background) to resume."""

    # --- identity -----------------------------------------------------------
    jwt_private_key: SecretStr | None = None
    """ES256 signing key (PEM). Required in production; generated into data_dir otherwise."""
    jwt_previous_public_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Public keys (PEM, JSON list) of retired signing keys, still accepted during rotation."""
    jwt_issuer: str = "agora"
    jwt_audience: str = "agora-api"
    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_days: int = Field(default=14, ge=1)
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)
    revocation_poll_seconds: float = Field(default=2.0, gt=0)
    """How often an instance reads revocations other instances made (Redis broadcasts at once)."""

    # --- rate limits (limits notation: "N/second|minute|hour|day") ------------
    rate_limit_enabled: bool = True
    rate_limit_anonymous: str = "120/minute"
    rate_limit_authenticated: str = "1200/minute"
    rate_limit_auth: str = "30/minute"
    """Every /auth/* call, per client IP."""
    rate_limit_login: str = "5/minute"
    """Login attempts per client IP and, separately, per account."""
    rate_limit_lease: float = Field(default=0.05, gt=0, le=1)
    """With Redis: the share of a caller's limit an instance leases at a time and spends without
    asking Redis again (instances together never pass the limit; one may refuse up to this
    share early while another holds unspent budget). Sign-in limits lease one at a time."""

    # --- files --------------------------------------------------------------
    storage: Literal["local", "s3"] = "local"
    """Where uploaded files live: `local` (data_dir/files) or an S3-compatible bucket."""
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    max_signed_upload_bytes: int = Field(default=100 * MiB, ge=1)
    upload_url_ttl_seconds: int = Field(default=900, ge=10)

    # --- catalog ------------------------------------------------------------
    low_stock_threshold: int = Field(default=5, ge=0)
    """`inventory.low` is recorded when stock falls to this level or below."""
    product_cache_ttl_seconds: float = Field(default=60.0, ge=0)
    response_cache_enabled: bool = True
    """Keep public responses in process and serve repeats before routing."""
    response_cache_max_entries: int = Field(default=10_000, ge=1)
    public_max_age: int = Field(default=60, ge=0)
    """Cache-Control max-age of public catalog reads."""
    v1_products_sunset: str = "2027-06-30"
    """The date v1 product responses announce in `Sunset` (v2 is their successor)."""

    # --- orders and payments -------------------------------------------------
    order_payment_window_seconds: int = Field(default=1800, ge=1)
    """An unpaid order is cancelled (and its stock released) this long after it was placed."""
    order_max_lines: int = Field(default=100, ge=1, le=1000)
    payment_provider: Literal["sandbox"] = "sandbox"
    payment_timeout_seconds: float = Field(default=5.0, gt=0)
    payment_attempts: int = Field(default=3, ge=1, le=10)
    """Calls per charge when the provider times out or is unreachable (safe: same key)."""
    payment_breaker_threshold: int = Field(default=5, ge=1)
    payment_breaker_reset_seconds: float = Field(default=30.0, gt=0)
    sandbox_latency_ms: int = Field(default=40, ge=0)
    """How long the sandbox payment provider takes to answer, like a real one."""

    # --- background work ------------------------------------------------------
    jobs_enabled: bool = True
    """Run periodic jobs, the outbox relay and the event consumers in this process (set false
    on web instances when `agora worker` runs)."""
    broker_url: str | None = None
    """RabbitMQ (`amqp://user:password@host:5672/vhost`) for events; in process when unset."""
    broker_prefix: str = "agora"
    """Prefix of the broker's queue names (one queue per consumer)."""
    relay_batch: int = Field(default=200, ge=1, le=10_000)
    """Events the relay publishes per round."""
    relay_idle_ms: int = Field(default=100, ge=1)
    """How long the relay waits before looking again when the outbox was empty."""
    relay_lease_seconds: float = Field(default=10.0, gt=0)
    """One relay publishes at a time; another takes over this long after it stops renewing."""
    order_expiry_every_seconds: float = Field(default=30.0, gt=0)
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Networks (CIDR) webhooks may be sent to although they are not public, e.g. 10.1.0.0/16.
    None by default: a webhook URL could otherwise reach inside Agora's own network."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    """One delivery attempt, from connecting to the end of the answer."""
    webhook_retry_hours: float = Field(default=72.0, gt=0)
    """How long a delivery is retried before it fails for good."""
    webhook_backoff_base_seconds: float = Field(default=5.0, gt=0)
    webhook_backoff_cap_seconds: float = Field(default=21_600.0, gt=0)
    """The longest wait between two attempts (before jitter)."""
    webhook_disable_after_hours: float = Field(default=120.0, gt=0)
    """An endpoint whose every attempt failed for this long is disabled."""
    webhook_concurrency: int = Field(default=16, ge=1, le=512)
    """Deliveries a process sends at once."""
    webhook_poll_ms: int = Field(default=200, ge=1)
    """How often a dispatcher looks for due deliveries when nothing woke it."""
    job_lease_seconds: float = Field(default=30.0, gt=0)
    """A worker renews its hold on a job this often (x3); a job whose worker died is taken
    again once this much time passed."""
    job_poll_ms: int = Field(default=1000, ge=1)
    """How often a worker looks for jobs when no `job.queued` event woke it."""
    job_max_attempts: int = Field(default=3, ge=1, le=100)
    """Runs of a job (each resumes the last): past this, a job that keeps dying fails."""
    job_result_url_ttl_seconds: int = Field(default=3600, ge=10)
    """How long a job's `resultUrl` works (each read of the job signs a fresh one)."""
    import_max_bytes: int = Field(default=32 * MiB, ge=1)
    """The largest product import file (413 past it)."""
    import_max_rows: int = Field(default=50_000, ge=1)
    """The most rows an import takes (a larger file fails as a whole, importing nothing)."""
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    idempotency_lock_seconds: int = Field(default=60, ge=1)
    """A key whose first request started this long ago without finishing may be retried."""

    # --- HTTP behaviour -----------------------------------------------------
    max_body_bytes: int = Field(default=1 * MiB, ge=0)
    max_upload_bytes: int = Field(default=10 * MiB, ge=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = True
    force_https: bool = False
    hsts_max_age: int = Field(default=63_072_000, ge=0)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Proxies whose X-Forwarded-For/-Proto are believed. None by default: a client could
    otherwise pick its own address (and its own rate-limit bucket) with one header."""
    gzip_min_bytes: int = Field(default=1024, ge=0)
    docs_enabled: bool = True
    ready_timeout: float = Field(default=2.0, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)

    # --- logging ------------------------------------------------------------
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    access_log: bool = True
    # FastAPI's built-in OpenTelemetry spans and metrics, exported through the global
    # providers (e.g. under `opentelemetry-instrument`). Off by default: even unconfigured,
    # FastAPI checks the providers on every request.
    otel_enabled: bool = False

    @field_validator(
        "cors_origins",
        "trusted_proxies",
        "jwt_previous_public_keys",
        "webhook_allowed_networks",
        mode="before",
    )
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

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_are_networks(cls, networks: list[str]) -> list[str]:
        import ipaddress

        for network in networks:
            ipaddress.ip_network(network, strict=False)  # raises ValueError with the reason
        return networks

    @field_validator(
        "rate_limit_anonymous", "rate_limit_authenticated", "rate_limit_auth", "rate_limit_login"
    )
    @classmethod
    def _rate_limit_syntax(cls, value: str) -> str:
        from limits import parse

        parse(value)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _safe_combinations(self) -> "Settings":
        if "*" in self.cors_origins and self.cors_allow_credentials:
            raise ValueError(
                "AGORA_CORS_ORIGINS='*' cannot be combined with credentials; list the origins"
            )
        if self.env == "production":
            for name in ("secret_key", "jwt_private_key"):
                if getattr(self, name) is None:
                    raise ValueError(f"AGORA_{name.upper()} is required when AGORA_ENV=production")
        return self

    def for_bulk_work(self) -> "Settings":
        """These settings for migrations and seeding, whose database calls may take long."""
        return self.model_copy(update={"db_timeout": max(self.db_timeout, BULK_DB_TIMEOUT)})

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'agora.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
