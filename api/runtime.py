"""Build the process's shared resources from settings (Redis clients, store, services),
and the keys under which the HTTP server holds them (`request.config_dict[SERVICES]`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from api.approvals import Approvals
from api.crypto import SecretBox
from api.service import FileAnswers, TaskService
from api.settings import Settings
from api.store import connection
from api.store.approvals import TeamStore
from api.store.directory import Directory
from api.store.drafts import Drafts
from api.store.feed import TaskFeed
from api.store.files import FileClaims, LocalFileStorage
from api.store.jobs import Jobs, RetryPolicy
from api.store.listing import Listing
from api.store.slack_installs import SlackInstallations
from api.store.tasks import TaskStore
from api.store.token_cache import TokenCache
from api.store.waiters import WaitHub


@dataclass
class Services:
    settings: Settings
    redis: Redis
    jobs: Jobs
    store: TaskStore
    drafts: Drafts
    files: FileClaims
    listing: Listing
    directory: Directory
    tasks: TaskService
    file_answers: FileAnswers
    secrets: SecretBox | None  # None without INLOOP_SECRET_KEY: nothing may be sealed
    approvals: Approvals  # teams of approvers: respond, claim, reassign, history
    slack_installs: SlackInstallations  # each org's Slack workspace (OAuth mode)

    def async_redis(self) -> AsyncRedis:
        """A new asyncio client (one per event loop) on the same server."""
        return connection.async_client(redis_url(self.settings), self.settings.redis_pool_size)


SERVICES = web.AppKey("services", Services)
HUB = web.AppKey("hub", WaitHub)
AREDIS = web.AppKey("aredis", AsyncRedis)
FEED = web.AppKey("feed", TaskFeed)
TOKENS = web.AppKey("tokens", TokenCache)


def dev_url_file(settings: Settings) -> Path:
    return settings.data_dir / "redis.url"


def redis_url(settings: Settings) -> str:
    """INLOOP_REDIS_URL, else the embedded Valkey of a running `inloop dev`."""
    if settings.redis_url:
        return settings.redis_url
    if dev_url_file(settings).exists():
        return dev_url_file(settings).read_text().strip()
    raise SystemExit("inloop: set INLOOP_REDIS_URL, or start `inloop dev` first")


def build_services(settings: Settings) -> Services:
    redis = connection.sync_client(redis_url(settings), settings.redis_pool_size,
                                   settings.redis_min_replicas, settings.redis_replica_timeout_ms)
    jobs = Jobs(redis, RetryPolicy(settings))
    store = TaskStore(redis, jobs)
    directory, files, drafts = Directory(redis), FileClaims(redis), Drafts(redis)
    tasks = TaskService(store, directory, files, base_url=settings.base_url,
                        slack_enabled=settings.slack_delivery_enabled,
                        allow_private_webhooks=settings.allow_private_webhooks,
                        mail_enabled=bool(settings.smtp_url),
                        min_schedule_s=settings.min_schedule_s)
    team = TeamStore(store, mail=bool(settings.smtp_url),
                     mail_members=not settings.slack_delivery_enabled)
    file_answers = FileAnswers(files, drafts, LocalFileStorage(settings.files_dir),
                               base_url=settings.base_url)
    key = settings.secret_key
    secrets = SecretBox(key.get_secret_value()) if key else None
    return Services(settings, redis, jobs, store, drafts, files,
                    Listing(store, settings.max_page_bytes), directory, tasks, file_answers,
                    secrets, Approvals(tasks, team, tasks.resolver),
                    SlackInstallations(redis, secrets, jobs))
