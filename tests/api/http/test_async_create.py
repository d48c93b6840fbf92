"""`POST /api/v1/tasks` runs on the event loop (TaskService.acreate, the asyncio client):
what it stores and enqueues must be what the blocking path (CLI, workers, tests) does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis import Redis

from api.domain.task import Task
from api.http.deps import INLINE_BODY_BYTES
from api.runtime import Services
from api.store import keys
from api.store.connection import ReplicatedRedis
from tests.api.http.teams import make_team, team_task
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.workers.receiver import Receiver

ROOT = Path(__file__).resolve().parents[3]
# What differs between two creations of one body: identities and times.
_UNIQUE = {"task_id", "link_id", "url", "created_at", "updated_at", "expires_at"}


def _everything(account: Account) -> dict[str, Any]:
    """A body that writes every kind of creation job: expiry, Slack delivery, reminder,
    escalation, email links to external assignees; with a webhook sink and a team."""
    return {"expires_in": 7200, "remind": {"after": 60}, "slack_channel": "C123",
            "escalate": {"after": 120, "to": [{"member_id": account.member.id}]},
            "sinks": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]}


def _stored(redis: Redis, ref: str) -> dict[str, Any]:
    """Everything Redis holds about the task `ref`, with its ref and unique fields
    blanked: its record, its keys and index memberships, and its RQ jobs."""
    record = Task.read(redis.get(keys.task(ref)) or b"").model_dump(mode="json",
                                                                       exclude=_UNIQUE)
    found = {k.decode().replace(ref, "REF") for k in redis.scan_iter(f"*{ref}*")}
    indexes = {k.decode() for k in redis.scan_iter("*") if redis.type(k) == b"zset"
               and redis.zscore(k, ref) is not None}
    history = [json.loads(e) for e in redis.lrange(keys.task_history(ref), 0, -1)]
    return {"record": record, "keys": found, "indexes": indexes, "jobs": _jobs(redis, ref),
            "history": [{k: v for k, v in e.items() if k != "at"} for e in history]}


def _jobs(redis: Redis, ref: str) -> list[dict[str, str]]:
    """The task's RQ jobs as RQ stored them (every field of each job hash: function,
    args, queue, status, retries, timeout, callbacks), its times left out."""
    jobs = []
    for key in redis.scan_iter("rq:job:*"):
        job_id = key.decode().removeprefix("rq:job:")
        fields = {k.decode(): v for k, v in redis.hgetall(key).items()
                  if k not in (b"created_at", b"enqueued_at")}
        fields["data"] = zlib.decompress(fields["data"])
        text = json.dumps({k: v.decode() for k, v in fields.items()}, sort_keys=True)
        if ref in text or ref in job_id:
            scheduled = redis.zscore(f"rq:scheduled:{fields['origin'].decode()}", job_id)
            # a job without an id template has a random id (email links)
            jobs.append({"job": text.replace(ref, "REF"), "scheduled": scheduled is not None,
                         "id": job_id.replace(ref, "REF") if ref in job_id else "random"})
    return sorted(jobs, key=lambda j: j["id"] + j["job"])


@pytest.mark.parametrize("with_task_id", [False, True])  # True: the WATCH and replay path
async def test_the_async_path_stores_and_enqueues_what_the_sync_path_does(
        client: TestClient, services: Services, make_account: AccountFactory,
        with_task_id: bool) -> None:
    services.tasks.slack_enabled = services.tasks.mail_enabled = True
    team = make_team(make_account)
    people = [*team.assignees(2), {"email": "ext@example.com"}]
    body = team_task(people, **_everything(team.admin))
    ids = [str(uuid.uuid4()), str(uuid.uuid4())] if with_task_id else [None, None]
    by_sync, _ = services.tasks.create(services.directory.authenticate(team.admin.token),
                                       {**body, "task_id": ids[0]} if ids[0] else body)
    by_async = await create(client, team.admin, {**body, "task_id": ids[1]} if ids[1] else body)
    sync, done = (_stored(services.redis, team.admin.ref(c["task_id"]))
                  for c in (by_sync, by_async))
    assert done == sync
    assert {j["id"].partition("_")[0] for j in done["jobs"]} == {
        "expire", "slack-deliver", "remind", "escalate", "random"}
    assert any("workers.timers.mail_link" in j["job"] for j in done["jobs"])
    assert set(by_async) == set(by_sync) and by_async["sinks"][0]["secret"].startswith("whsec_")


async def test_a_plain_task_reads_nothing_and_matches_the_sync_path(
        client: TestClient, services: Services, account: Account) -> None:
    by_sync, _ = services.tasks.create(services.directory.authenticate(account.token),
                                       example("hpi_approval"))
    by_async = await create(client, account, example("hpi_approval"))
    assert (_stored(services.redis, account.ref(by_async["task_id"]))
            == _stored(services.redis, account.ref(by_sync["task_id"])))


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def worker(services: Services, redis_url: str, tmp_path: Path) -> Iterator[None]:
    """A real `inloop worker` process (with its scheduler) on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INLOOP_", "SLACK_"))}
    env.update(INLOOP_REDIS_URL=redis_url, INLOOP_DATA_DIR=str(tmp_path / "w"),
               PYTHONPATH=str(ROOT), INLOOP_ALLOW_PRIVATE_WEBHOOKS="1")
    with (tmp_path / "worker.log").open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], env=env,
                                   stdout=out, stderr=out, start_new_session=True)
    yield
    os.killpg(process.pid, 15)  # the worker and its scheduler
    process.wait(15)


@pytest.mark.slow
async def test_an_inloop_worker_runs_the_jobs_of_an_async_create(
        client: TestClient, services: Services, account: Account, hooks: Receiver,
        worker: None) -> None:
    services.tasks.resolver.min_schedule_s = 1  # INLOOP_MIN_SCHEDULE_S: expire at once
    created = await create(client, account, {**example("hpi_approval"), "expires_in": 1,
                                             "sinks": [{"type": "webhook", "url": hooks.url}]})
    deadline = time.monotonic() + 30
    while not hooks.received and time.monotonic() < deadline:
        time.sleep(0.2)
    assert hooks.received, "the expiry's webhook never came"
    event = hooks.json(0)
    assert (event["type"], event["task"]["task_id"]) == ("task.failed", created["task_id"])
    assert services.store.get(account.org_id, created["task_id"]).status == "failed"


async def test_a_body_over_the_inline_limit_is_validated_in_a_thread_alike(
        client: TestClient, account: Account) -> None:
    big = {**example("hpi_approval"), "payload": {"blob": "x" * INLINE_BODY_BYTES}}
    created = await create(client, account, big)
    task = await (await client.get(f"/api/v1/tasks/{created['task_id']}",
                                   headers=account.headers)).json()
    assert task["payload"] == big["payload"]
    refused = await create(client, account, {**big, "title": "", "expires_in": 0}, status=400)
    assert {d["loc"] for d in refused["details"]} == {"title", "expires_in"}
    malformed = await client.post("/api/v1/tasks", data=json.dumps(big)[:-1], headers={
        **account.headers, "Content-Type": "application/json"})
    assert malformed.status == 400
    assert (await malformed.json())["details"][0]["type"] == "json_invalid"


async def test_a_webhook_host_resolving_to_a_private_address_is_refused(
        client: TestClient, services: Services, account: Account) -> None:
    services.tasks.allow_private_webhooks = False
    body = {**example("hpi_approval"), "sinks": [
        {"type": "webhook", "url": "https://93.184.215.14/ok"},
        {"type": "webhook", "url": "http://localhost:8080/hook"}]}  # a name: the resolver
    refused = await create(client, account, body, status=400)
    assert [(d["loc"], d["type"]) for d in refused["details"]] == [
        ("sinks.1.url", "ssrf_refused")]
    listed = await (await client.get("/api/v1/tasks", headers=account.headers)).json()
    assert listed["tasks"] == []


async def test_an_async_creation_no_replica_confirms_is_not_acknowledged(
        client: TestClient, services: Services, account: Account) -> None:
    redis = services.redis
    assert isinstance(redis, ReplicatedRedis)  # the session's Valkey has no replica
    redis.min_replicas, redis.replica_timeout_ms = 1, 50
    body = {**example("hpi_approval"), "task_id": str(uuid.uuid4())}
    try:
        refused = await create(client, account, body, status=503)
    finally:
        redis.min_replicas = 0
    assert "not confirmed by 1 Redis replica" in refused["message"]
    replayed = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert replayed.status == 201 and replayed.headers["Idempotent-Replayed"] == "true"
