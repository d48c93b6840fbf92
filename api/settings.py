"""One settings object, read from the environment once at the entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


# The bot scopes of bot/manifest.yaml: what `/slack/install` asks a workspace for.
DEFAULT_SLACK_SCOPES = ("chat:write,chat:write.public,im:write,users:read,users:read.email,"
                        "channels:read,groups:read")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INLOOP_", extra="ignore", populate_by_name=True)

    redis_url: str | None = None
    redis_pool_size: int = 64
    # Replicas that must confirm a task's transition before it is acknowledged (WAIT);
    # None: 1 with a redis+sentinel:// URL, 0 otherwise.
    redis_min_replicas: int | None = Field(default=None, ge=0)
    redis_replica_timeout_ms: int = Field(default=2000, gt=0, le=8000)  # < socket timeout
    data_dir: Path = Path(".inloop")
    base_url: str = "http://localhost:8000"
    host: str | None = None  # `serve`: all interfaces (0.0.0.0); `dev`: loopback
    port: int = Field(default=8000, validation_alias=_env("PORT", "INLOOP_PORT"))
    max_body_bytes: int = 1024 * 1024
    # A connection must deliver a complete request head within this time of connecting
    # or of its previous response (the idle keep-alive limit too), else it is closed.
    header_timeout_s: float = Field(default=10, gt=0)
    max_upload_bytes: int = 10 * 1024 * 1024
    max_request_upload_bytes: int = 32 * 1024 * 1024  # one web form POST, all parts
    wait_default_s: float = 30
    wait_max_s: float = 600
    max_page_bytes: int = 2 * 1024 * 1024  # a task list page ends early past this
    slack_bot_token: str | None = Field(default=None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(
        default=None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_app_token: str | None = Field(default=None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str | None = Field(default=None, validation_alias=_env("SLACK_API_URL"))
    # Slack OAuth (each org installs the app in its own workspace, bot.oauth): the app's
    # credentials and the bot scopes it asks for (comma-separated, as the manifest's).
    slack_client_id: str | None = Field(default=None, validation_alias=_env("SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_CLIENT_SECRET"))
    slack_scopes: str = Field(default=DEFAULT_SLACK_SCOPES,
                              validation_alias=_env("SLACK_SCOPES"))
    smtp_url: str | None = None
    # Fernet keys (comma-separated, newest first) sealing secrets at rest (api.crypto):
    # Slack bot tokens of installations, authenticator-app seeds.
    secret_key: SecretStr | None = None
    smtp_from: str = "inloop <inloop@localhost>"
    nats_url: str = "nats://127.0.0.1:4222"
    allow_private_webhooks: bool = False
    webhook_timeout_s: float = 15
    webhook_retry_schedule: list[int] = Field(
        default_factory=lambda: [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    )
    sink_retry_schedule: list[int] = Field(default_factory=lambda: [5, 30, 120, 600, 3600])
    worker_ttl_s: int = 420
    # Sink jobs (webhook, NATS, email) one `inloop worker` runs at once (workers/concurrent.py).
    worker_concurrency: int = Field(default=16, ge=1, le=256)
    # The shortest timer a task may set (remind, escalate, claim_ttl); tests lower it.
    min_schedule_s: int = Field(default=60, ge=1)
    maintenance_interval_s: int = 600
    # Sink deliveries (issue 5). RQ marks a running job abandoned once its heartbeat is
    # older than job_monitoring_interval_s + job_heartbeat_grace_s (RQ's own grace is 60).
    job_monitoring_interval_s: int = 30
    job_heartbeat_grace_s: int = 60
    retry_jitter: float = 0.2
    nats_connect_timeout_s: float = 2
    # Web form, email codes and dashboard sessions (issue 6).
    otp_ttl_s: int = 600
    otp_max_tries: int = 5
    # Per (task or email, network), per network, per window; see api.store.codes for who may
    # slow down whom.
    otp_sends_per_subject: int = 5
    otp_sends_per_ip: int = 20
    otp_send_window_s: int = 3600
    otp_mail_interval_s: int = 60  # a new code per task or email at most this often
    otp_mails_per_subject: int = 10  # per window; then one per code lifetime
    otp_max_failures_per_day: int = 15  # wrong codes per (task or email, network) in 24 h
    otp_max_subject_failures_per_day: int = 150  # from all networks together
    # Wrong authenticator-app codes from one network for any emails (email codes are
    # capped per network by otp_sends_per_ip instead).
    totp_max_network_failures_per_day: int = 100
    web_session_ttl_s: int = 12 * 3600
    # Settings changes (API tokens, authenticator apps, Slack) need a sign-in this recent:
    # a stolen session cookie alone cannot mint a lasting way back in.
    web_recent_sign_in_s: int = Field(default=600, ge=60)
    # Reverse proxies in front of inloop that append to X-Forwarded-For (0: none, use the
    # peer address). With N, the client is the Nth address from the right.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    # Ended tasks leave Redis (and their files the disk) this long after they end; 0 keeps
    # them forever. With an archive dir, each is first appended to a JSON Lines file there.
    retention_days: float = Field(default=90, ge=0)
    archive_dir: Path | None = None
    # GET /metrics answers a bearer of this token; without one it is off (404).
    metrics_token: str | None = None
    log_format: Literal["text", "json"] = "text"

    @property
    def metrics_dir(self) -> Path:
        """Each process's Prometheus values (PROMETHEUS_MULTIPROC_DIR), emptied at start."""
        return self.data_dir / "metrics"

    @property
    def files_dir(self) -> Path:
        """Uploaded files and signatures, stored by sha256."""
        return self.data_dir / "files"

    @property
    def incoming_dir(self) -> Path:
        """Form uploads while they arrive (beside files_dir: moved in by a rename)."""
        return self.data_dir / "incoming"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def slack_oauth_enabled(self) -> bool:
        """Orgs install the app in their own workspaces (`/slack/install`)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_delivery_enabled(self) -> bool:
        """Post tasks to Slack and update their messages: a bot token (single-workspace
        mode) or OAuth installations (Socket Mode needs no signing secret)."""
        return bool(self.slack_bot_token) or self.slack_oauth_enabled

    @property
    def slack_http_enabled(self) -> bool:
        """Answer Slack at `POST /slack/events`: requests are signed, so the secret too."""
        return self.slack_delivery_enabled and bool(self.slack_signing_secret)

    @property
    def slack_scope_list(self) -> list[str]:
        return [s.strip() for s in self.slack_scopes.split(",") if s.strip()]
