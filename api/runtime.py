"""Build the process's shared resources from settings (Redis clients, store, services)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from api.service import TaskService
from api.settings import Settings
from api.store import connection
from api.store.directory import Directory
from api.store.jobs import JobQueues
from api.store.tasks import TaskStore


@dataclass
class Services:
    settings: Settings
    redis: Redis
    queues: JobQueues
    store: TaskStore
    directory: Directory
    tasks: TaskService

    def async_redis(self) -> AsyncRedis:
        """A new asyncio client (one per event loop) on the same server."""
        return connection.async_client(redis_url(self.settings), self.settings.redis_pool_size)


def dev_url_file(settings: Settings) -> Path:
    return settings.data_dir / "redis.url"


def redis_url(settings: Settings) -> str:
    """INLOOP_REDIS_URL, else the embedded Valkey of a running `inloop dev`."""
    if settings.redis_url:
        return settings.redis_url
    if dev_url_file(settings).exists():
        return dev_url_file(settings).read_text().strip()
    raise SystemExit("inloop: set INLOOP_REDIS_URL, or start `inloop dev` first")


def retry_schedules(settings: Settings) -> dict[str, list[int]]:
    schedule = settings.sink_retry_schedule
    return {"webhook": settings.webhook_retry_schedule, "nats": schedule, "email": schedule,
            "slack": schedule}


def build_services(settings: Settings) -> Services:
    redis = connection.sync_client(redis_url(settings), settings.redis_pool_size,
                                   settings.redis_min_replicas, settings.redis_replica_timeout_ms)
    queues = JobQueues(redis)
    store = TaskStore(redis, queues, base_url=settings.base_url,
                      slack_enabled=settings.slack_delivery_enabled,
                      retry_schedules=retry_schedules(settings),
                      max_page_bytes=settings.max_page_bytes)
    directory = Directory(redis)
    tasks = TaskService(store, directory, allow_private_webhooks=settings.allow_private_webhooks)
    return Services(settings, redis, queues, store, directory, tasks)
