"""Settings: the only place that reads the environment.

Every setting has a default, an environment variable (prefix ``HELPLINE_``) and a description; the
profile file ``config/<env>.env`` supplies non-secret defaults per environment, a local ``.env``
overrides it, and real environment variables override both.
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105  # nosec B105 - the refused default
DEFAULT_API_KEY_PEPPER = "dev-insecure-api-key-pepper-change-me"


# Single server, TLS, socket; Redis Cluster (seed nodes) and Sentinel (runtime.make_redis).
REDIS_SCHEMES = frozenset(
    {"redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel"}
)


class Environment(StrEnum):
    development = "development"
    test = "test"
    staging = "staging"
    production = "production"


class UnsafeSettingsError(ValueError):
    """Raised when a staging/production configuration would run with unsafe values."""


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Effective configuration of a Helpline process."""

    model_config = SettingsConfigDict(
        env_prefix="HELPLINE_", extra="ignore", validate_default=True, frozen=True
    )

    env: Environment = Field(
        Environment.development,
        description="Deployment profile: development|test|staging|production.",
    )
    config_dir: Path = Field(
        Path("config"), description="Directory with the <env>.env profile files."
    )
    var_dir: Path = Field(
        Path("var"),
        description="Directory for local state: embedded database, attachments, archives.",
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL URL (postgresql://user:pass@host:port/db). Unset in "
        "development: an embedded PostgreSQL is started under var_dir.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL: redis:// or rediss:// (one server), "
        "redis+cluster://host:port,host:port (Redis Cluster seed nodes), "
        "redis+sentinel://host:port,host:port/master-name (Sentinel). Unset in development: an "
        "in-process Redis-compatible backend (single process only).",
    )
    redis_key_prefix: str = Field(
        "helpline", description="Prefix of every Redis key (one per deployment or test run)."
    )
    secret_key: SecretStr = Field(
        SecretStr(DEFAULT_SECRET_KEY), description="Secret for signing cursors and sessions."
    )
    api_key_pepper: SecretStr = Field(
        SecretStr(DEFAULT_API_KEY_PEPPER), description="Server pepper of the API key HMAC-SHA256."
    )
    debug: bool = Field(False, description="Debug mode (never in production).")
    host: str = Field("127.0.0.1", description="Address `helpline serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `helpline serve` listens on.")
    workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Server worker processes (default: the CPU count in staging and production, "
        "1 in development and test).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or CIDR ranges of reverse proxies whose "
        "`X-Forwarded-For` / `Forwarded` header names the client (default: none — the socket's "
        "peer is the client). E.g. the load balancer's subnet in compose or Kubernetes.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins allowed by CORS ('*' refused in production).",
    )
    max_request_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest accepted request body for JSON endpoints (bytes)."
    )
    db_pool_size: int = Field(
        20,
        ge=1,
        le=200,
        description="Connections kept open in the pool per process: at least the requests one "
        "process serves at once. Connections beyond it (overflow) are opened for one request "
        "and closed again, which costs PostgreSQL a new backend each time.",
    )
    db_max_overflow: int = Field(
        0,
        ge=0,
        le=200,
        description="Extra connections beyond the pool, opened and closed per burst.",
    )
    db_pool_timeout_s: float = Field(
        10.0, gt=0, description="Seconds to wait for a pooled connection."
    )
    db_statement_timeout_ms: int = Field(
        15_000, ge=0, description="Server-side statement timeout for API transactions (0 = none)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    log_format: Literal["json", "console", "auto"] = Field(
        "auto", description="Log renderer: console in development, JSON elsewhere when 'auto'."
    )
    access_log: bool = Field(True, description="Write one structured log line per request.")
    default_rate_limit_per_minute: int = Field(
        600, ge=1, description="Requests per minute for a key without its own limit."
    )
    anonymous_rate_limit_per_minute: int = Field(
        120, ge=1, description="Requests per minute per client IP without credentials."
    )
    login_rate_limit_per_ip_per_minute: int = Field(
        10, ge=1, description="Login attempts per minute per client IP."
    )
    login_rate_limit_per_account_per_minute: int = Field(
        5, ge=1, description="Login attempts per minute per account (email), any IP."
    )
    graphql_max_nodes: int = Field(
        10_000,
        ge=1,
        description="Most nodes one GraphQL operation may ask for (list sizes multiplied: "
        "`first`/`count`, or their default); a costlier operation is refused before it runs "
        "(400 `query-too-costly`). It is charged ceil(nodes / 100) requests of the rate limit.",
    )
    rate_limit_redis_timeout_s: float = Field(
        1.0, gt=0, description="Redis timeout of the rate limiter before it falls back (seconds)."
    )
    principal_cache_ttl_s: float = Field(
        30.0,
        gt=0,
        le=60,
        description="How long a process trusts a resolved API key without looking it up again "
        "(revocations and role changes reach every process sooner, via Redis).",
    )
    principal_check_interval_s: float = Field(
        0.5,
        gt=0,
        le=1.0,
        description="How often a process reads the shared generation of credentials (seconds): "
        "a revocation anywhere takes effect everywhere within this interval.",
    )
    key_use_flush_interval_s: float = Field(
        30.0, gt=0, description="How often `api_keys.last_used_at` is written (seconds)."
    )
    session_ttl_seconds: int = Field(
        28_800, ge=60, description="Idle lifetime of a login session (sliding expiry)."
    )
    session_cookie_name: str = Field(
        "helpline_session", description="Name of the login session cookie."
    )
    audit_retention_months: int = Field(13, ge=1, description="Months of audit log kept online.")
    audit_buffer_size: int = Field(
        10_000, ge=10, description="Application audit events buffered before new ones are dropped."
    )
    audit_batch_size: int = Field(
        500, ge=1, description="Application audit events written per batch."
    )
    audit_seal_settle_minutes: int = Field(
        10, ge=0, description="`audit verify` seals only hours that ended this long ago."
    )
    database_owner_url: str | None = Field(
        None,
        description="PostgreSQL URL of the schema owner role, for `db upgrade` and `audit rotate` "
        "(defaults to database_url). The service itself connects as a member of "
        "helpline_runtime, which may only INSERT and SELECT the audit tables.",
    )
    attachment_storage: Literal["local", "s3"] = Field(
        "local", description="Where attachment bytes live: a local directory or an S3 bucket."
    )
    attachments_dir: Path | None = Field(
        None,
        description="Local attachment directory (content-addressed by SHA-256); also the "
        "spool for uploads in progress with S3. Default: var_dir/attachments.",
    )
    attachment_max_bytes: int = Field(
        26_214_400, ge=1, description="Largest accepted attachment (bytes; default 25 MiB)."
    )
    attachment_allowed_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
            "application/zip",
            "application/gzip",
            "text/plain",
        ],
        description="Comma-separated content types accepted for attachments (detected from "
        "the bytes, never taken from the client).",
    )
    s3_bucket: str | None = Field(None, description="S3 bucket for attachments (storage=s3).")
    s3_prefix: str = Field("attachments/", description="Key prefix of attachments in the bucket.")
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible service (unset: AWS)."
    )
    s3_region: str | None = Field(None, description="S3 region (unset: the SDK's default).")
    s3_access_key_id: str | None = Field(
        None, description="S3 access key id (unset: the SDK's default credential chain)."
    )
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key.")
    backup_dir: Path | None = Field(
        None, description="Where backups are written (default: <var_dir>/backups)."
    )
    backup_keep_daily: int = Field(
        7, ge=0, description="Retention: keep the newest backup of each of the last N days."
    )
    backup_keep_weekly: int = Field(
        4, ge=0, description="Retention: keep the newest backup of each of the last M ISO weeks."
    )
    backup_compression_level: int = Field(
        6, ge=0, le=9, description="pg_dump compression level of backups (0-9)."
    )
    seed_admin_email: str = Field(
        "admin@helpline.local", description="Admin account created by `helpline seed`."
    )
    cache_enabled: bool = Field(
        True, description="Cache tickets and list responses in Redis (off: always PostgreSQL)."
    )
    cache_ticket_ttl_s: int = Field(
        300, ge=1, description="Lifetime of a cached ticket (seconds; bounds any staleness)."
    )
    cache_ttl_jitter: float = Field(
        0.1, ge=0, le=0.5, description="Random extra fraction of a TTL, against mass expiry."
    )
    cache_list_ttl_s: int = Field(
        5, ge=1, description="Lifetime of a cached list response (seconds)."
    )
    cache_lease_ms: int = Field(
        2_000,
        ge=10,
        description="Fill lease of a missed ticket key (stampede and stale-set guard).",
    )
    cache_lease_wait_ms: int = Field(
        150, ge=0, description="How long a reader waits for another's fill before reading itself."
    )
    cache_op_timeout_ms: int = Field(
        300, ge=10, description="Deadline of one cache call to Redis (then PostgreSQL serves)."
    )
    cache_breaker_failures: int = Field(
        3, ge=1, description="Consecutive Redis failures that open the cache circuit breaker."
    )
    cache_breaker_reset_s: float = Field(
        2.0, ge=0, description="Seconds the cache breaker stays open before one probe."
    )
    cache_outbox_interval_s: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Seconds between two looks at the outbox of invalidations some process "
        "could not send to Redis (the bound on how long another process may serve them stale).",
    )
    idempotency_ttl_hours: int = Field(
        24, ge=1, description="How long an Idempotency-Key and its response are kept."
    )
    idempotency_inflight_timeout_s: int = Field(
        60, ge=1, description="A claim still in flight after this long is presumed crashed."
    )
    email_public_domains_only: bool = Field(
        False,
        description="Refuse new users' e-mail addresses under special-use or reserved domains "
        "(.local, .test, .internal, …). Off: any syntactically valid address is accepted "
        "(deliverability is never checked), as intranet helpdesks need.",
    )
    events_retention_days: int = Field(
        90, ge=1, description="Change-feed events older than this are purged by the worker."
    )
    events_stream_heartbeat_s: float = Field(
        15.0,
        gt=0,
        le=300,
        description="Seconds between two heartbeat comments on an idle event stream (keep it "
        "below the idle timeout of every proxy in front of the API).",
    )
    events_stream_poll_s: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Seconds between two looks at the feed by each API process that has an open "
        "event stream: the bound on a stream's delay when Redis is down or a writer announces "
        "nothing (Redis pub/sub wakes the streams at once otherwise).",
    )
    events_stream_max_s: float = Field(
        300.0,
        gt=0,
        description="An event stream ends after this many seconds; the client reconnects with "
        "`Last-Event-ID` (and its credentials are checked again).",
    )
    events_stream_coalesce_ms: int = Field(
        50,
        ge=0,
        le=1000,
        description="After a wake-up, a stream waits this long for more changes before it reads "
        "the feed (one read per burst instead of one per change).",
    )
    presence_ttl_s: int = Field(
        30,
        ge=2,
        le=3600,
        description="Seconds a staff member's presence on a ticket (viewing, replying) lasts "
        "without renewal: a closed tab disappears within it. The console renews at a third.",
    )
    worker_concurrency: int = Field(
        8, ge=1, le=100, description="Jobs one `helpline worker` process runs at the same time."
    )
    worker_shutdown_timeout_s: float = Field(
        30, ge=0, description="On SIGTERM, how long running jobs may finish before abort."
    )
    worker_backups: bool = Field(
        False, description="Whether the worker takes the nightly backup (needs pg_dump)."
    )
    webhook_timeout_s: float = Field(
        10, gt=0, le=60, description="Timeout of one webhook delivery attempt (seconds)."
    )
    webhook_concurrency: int = Field(
        4, ge=1, le=64, description="Deliveries in flight per endpoint and worker process."
    )
    rules_max_depth: int = Field(
        3,
        ge=1,
        le=10,
        description="Rule changes that trigger rules stop at this depth (logged as skipped).",
    )
    rules_poll_interval_s: float = Field(
        0.5, gt=0, le=60, description="How often the worker's rules runner reads the feed."
    )
    rules_batch: int = Field(
        200, ge=1, le=10_000, description="Feed events the rules runner reads per step."
    )
    rules_concurrency: int = Field(
        4,
        ge=1,
        le=64,
        description="Tickets whose rules the rules runner executes at once (one lane per ticket).",
    )
    rules_lease_s: float = Field(
        30, ge=1, le=600, description="A worker holds the rules runner's feed lease this long."
    )
    webhook_retry_hours: int = Field(
        24, ge=1, le=72, description="How long a failing delivery is retried (backoff)."
    )
    webhook_disable_after_hours: int = Field(
        24, ge=1, description="An endpoint failing without a success this long is disabled."
    )
    webhook_secret_overlap_hours: int = Field(
        24, ge=0, le=168, description="After a rotation the old secret also signs this long."
    )
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma list of hosts or IPs webhook targets may resolve to although they "
        "are not globally reachable (loopback, private, …; default: none; tests allow "
        "127.0.0.1). Cloud metadata addresses and names are refused all the same.",
    )
    # Email channel (docs/email.md).
    smtp_url: str = Field(
        "log://",
        description="Outgoing mail server: smtp://, smtps:// or smtp+starttls:// "
        "(USER:PASS@HOST:PORT); log:// writes mail to the log instead (development). A "
        "mailbox may override it.",
    )
    smtp_timeout_s: float = Field(30, gt=0, le=300, description="Timeout of one SMTP send.")
    mail_encryption_keys: SecretStr | None = Field(
        None,
        description="Comma-separated Fernet keys encrypting mailbox credentials and inbound "
        "secrets at rest; the first encrypts, all decrypt (rotation). Unset: one key derived "
        "from HELPLINE_SECRET_KEY (changing that key then makes stored credentials unreadable).",
    )
    mail_max_bytes: int = Field(
        41_943_040,
        ge=1024,
        description="Largest inbound message accepted (bytes, default 40 MiB); larger ones are "
        "refused by the HTTP endpoint (413) and quarantined when they come by IMAP.",
    )
    mail_max_attachments: int = Field(
        10,
        ge=0,
        le=10,
        description="Attachments kept per inbound message (a message takes at most 10); "
        "more → quarantined.",
    )
    mail_flood_limit: int = Field(
        20,
        ge=1,
        description="Messages one sender may send to a mailbox per mail_flood_window_s; more "
        "are quarantined as `flood`.",
    )
    mail_flood_window_s: int = Field(
        600, ge=1, description="Window of the per-sender flood limit (seconds)."
    )
    mail_retry_hours: int = Field(
        24, ge=1, le=168, description="How long a temporarily failing send is retried."
    )
    mail_raw_retention_days: int = Field(
        90,
        ge=0,
        description="The worker purges the raw bytes of processed or discarded inbound mail "
        "received longer ago than this; the row stays (SHA-256, Message-ID, outcome) so the "
        "same message is still recognised as a duplicate. 0 keeps raw mail forever.",
    )
    imap_poll_interval_s: float = Field(
        60,
        gt=0,
        description="IMAP: how long one IDLE waits (or, without IDLE, the polling interval).",
    )
    imap_max_backoff_s: float = Field(
        300, gt=0, description="IMAP: longest wait before reconnecting after failures."
    )
    # Scale-out (docs/scaling.md).
    database_pgbouncer: bool = Field(
        False,
        description="HELPLINE_DATABASE_URL points at PgBouncer in transaction pooling: no "
        "prepared-statement cache, unique statement names, no start-up parameters beyond "
        "application_name (set statement_timeout and jit on the database role instead).",
    )
    database_replica_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated postgresql:// URLs of streaming read replicas; read-only "
        "work goes to a replica that is up, not lagging and has the caller's own writes.",
    )
    database_replica_max_lag_s: float = Field(
        5.0, gt=0, description="A replica further behind the primary than this serves no reads."
    )
    database_replica_check_interval_s: float = Field(
        1.0, gt=0, description="How often each replica's replay position and lag are polled."
    )
    database_replica_retry_s: float = Field(
        5.0, gt=0, description="A replica that failed is not tried again for this long."
    )
    read_your_writes_ttl_s: int = Field(
        60,
        ge=1,
        description="How long a caller's last write position (primary WAL LSN, kept in Redis) "
        "steers its reads to replicas that have replayed it; must exceed the maximum lag.",
    )
    frontend_dir: Path = Field(
        Path("frontend/dist"),
        description="Built web interface (`npm run build` output) served at `/`; when it is "
        "missing, `/` says the interface is not built and the API works as usual.",
    )
    password_reset_ttl_seconds: int = Field(
        86400,
        ge=60,
        le=30 * 86400,
        description="Lifetime of an admin-issued password reset token (seconds).",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"trusted_proxies: {item!r} is not an address or CIDR range"
                ) from exc
        return value

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _split_replicas(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("attachment_allowed_types", "webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_types(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator(
        "attachments_dir",
        "s3_bucket",
        "s3_endpoint_url",
        "s3_region",
        "s3_access_key_id",
        "s3_secret_access_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = urlsplit(value).scheme
        if scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
            raise ValueError("database_url must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if urlsplit(value).scheme not in REDIS_SCHEMES:
            raise ValueError(
                "redis_url must be a redis://, rediss://, unix://, redis+cluster:// or "
                "redis+sentinel:// URL"
            )
        return value

    @field_validator("database_replica_urls")
    @classmethod
    def _check_replica_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if urlsplit(url).scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
                raise ValueError("database_replica_urls must be postgresql:// URLs")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.env not in (Environment.staging, Environment.production):
            return self
        problems = []
        if (
            self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
            or len(self.secret_key.get_secret_value()) < 32
        ):
            problems.append("HELPLINE_SECRET_KEY is the default or shorter than 32 characters")
        if (
            self.api_key_pepper.get_secret_value() == DEFAULT_API_KEY_PEPPER
            or len(self.api_key_pepper.get_secret_value()) < 32
        ):
            problems.append("HELPLINE_API_KEY_PEPPER is the default or shorter than 32 characters")
        if self.debug:
            problems.append("HELPLINE_DEBUG is on")
        if "*" in self.cors_origins:
            problems.append("HELPLINE_CORS_ORIGINS contains '*'")
        if self.database_url is None:
            problems.append("HELPLINE_DATABASE_URL is unset (embedded database)")
        if self.redis_url is None:
            problems.append("HELPLINE_REDIS_URL is unset (in-process Redis)")
        if problems:
            raise UnsafeSettingsError(
                f"refusing to start in {self.env.value}: " + "; ".join(problems)
            )
        return self

    @property
    def cursor_secret(self) -> bytes:
        """The key that signs keyset cursors (derived from ``secret_key``)."""
        return self.secret_key.get_secret_value().encode()

    @property
    def is_development(self) -> bool:
        return self.env is Environment.development

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def server_workers(self) -> int:
        """Worker processes for `helpline serve`: the setting, else by environment."""
        if self.workers is not None:
            return self.workers
        if self.env in (Environment.staging, Environment.production):
            return os.cpu_count() or 1
        return 1

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def attachment_root(self) -> Path:
        return self.attachments_dir or self.var_dir / "attachments"

    @property
    def renders_json_logs(self) -> bool:
        if self.log_format == "auto":
            return self.env not in (Environment.development, Environment.test)
        return self.log_format == "json"

    def redacted(self) -> dict[str, Any]:
        """The effective configuration with every secret (and URL password) hidden."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(getattr(self, name), SecretStr):
                out[name] = "**********"
            elif name.endswith("_url") and isinstance(value, str):
                out[name] = redact_url(value)
            elif name.endswith("_urls") and isinstance(value, list):
                out[name] = [redact_url(url) for url in value]
            elif isinstance(value, Path | StrEnum):
                out[name] = str(value)
            else:
                out[name] = value
        return out


def redact_url(url: str) -> str:
    """Hide the password of a URL."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return parts._replace(netloc=netloc).geturl()


def load_settings(**overrides: Any) -> Settings:
    """Build Settings for the profile named by HELPLINE_ENV (or ``overrides['env']``)."""
    env = overrides.get("env") or os.environ.get("HELPLINE_ENV", Environment.development.value)
    config_dir = Path(
        overrides.get("config_dir") or os.environ.get("HELPLINE_CONFIG_DIR", "config")
    )
    env_files = [config_dir / f"{Environment(env).value}.env", Path(".env")]
    return Settings(_env_file=[p for p in env_files if p.is_file()], **overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached)."""
    return load_settings()
