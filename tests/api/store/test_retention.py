"""api.store.retention and the `tasks.retention` job: ended tasks older than the retention
leave Redis with every key of theirs, and their files once no task claims them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from redis import Redis

from api.domain.task import CompletedBy
from api.runtime import Services
from api.store.jobs import JOBS, rq_job_id
from api.store.retention import Retention
from api.store.slack import SlackMessage, SlackState
from tests.conftest import Account, create
from tests.fixtures import example
from workers.runner import run_worker

BY = CompletedBy(channel="api", id="m", name="M")
NOW = datetime.now(UTC)


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


async def new_task(client: TestClient, account: Account, **extra: Any) -> str:
    body = {**example("hpi_approval"), "tags": ["t"], "process_id": "p", "corr_id": "c",
            "sinks": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}], **extra}
    created = await create(client, account, body)
    return account.ref(created["task_id"])


def keys_of(redis: Redis, ref: str) -> list[str]:
    """Every key whose name mentions the ref (inloop's keys: RQ's jobs expire by RQ)."""
    return sorted(k.decode() for k in redis.scan_iter(match=f"inloop:*{ref}*", count=1000))


def retention(services: Services, archive: Path | None = None, batch: int = 500) -> Retention:
    return Retention(services.store, services.files, services.file_answers.storage,
                     archive, batch)


def end_with_everything(services: Services, ref: str, data: bytes) -> str:
    """A task with a file, Slack state and a delivery record, then completed; its file."""
    sha = services.file_answers.store(ref, data)
    task = services.store.load(ref)
    slack = SlackState(services.redis)
    slack.record_assignee(task, "U1", "member:m1")
    slack.record_assignee(task, "U3", "email:c@example.com")
    slack.record_message(ref, SlackMessage("DU1", "1.000001", "member:m1", "U1"))
    slack.mark_sent(ref, "C1")
    slack.grant(ref, "U2")  # a channel member, with a draft of their own
    slack.save_draft(ref, "U1", {"decision": "Approve"})
    slack.save_draft(ref, "U2", {"decision": "Reject"})
    services.drafts.save(ref, {"decision": "Approve"})
    services.store.complete(ref, {"decision": "Approve"}, BY)
    return sha


async def test_old_ended_tasks_go_with_every_key_and_unshared_file(
        client: TestClient, account: Account, services: Services,
        run_jobs: Callable[..., int], tmp_path: Path) -> None:
    old, shared_old, young, pending = [await new_task(client, account) for _ in range(4)]
    files = services.settings.files_dir
    sha = end_with_everything(services, old, b"only the old task's")
    shared = end_with_everything(services, shared_old, b"shared")
    run_jobs(("webhook",))  # a delivery record and an attempt for the ended tasks
    services.store.clock = at(NOW + timedelta(days=1.5))
    services.file_answers.store(young, b"shared")
    services.store.cancel(young, "young")
    services.file_answers.store(pending, b"pending's")
    assert keys_of(services.redis, old)
    services.store.clock = at(NOW + timedelta(days=2))

    assert retention(services, tmp_path / "archive").run(1) == 2

    for ref in (old, shared_old):
        assert keys_of(services.redis, ref) == []
    assert not (files / sha[:2] / sha).exists()
    assert (files / shared[:2] / shared).exists()  # the young task claims it too
    for ref in (young, pending):
        assert services.store.load(ref).ref == ref
    listed = await client.get("/api/v1/tasks", headers=account.headers)
    ids = {t["task_id"] for t in (await listed.json())["tasks"]}
    assert {account.ref(i) for i in ids} == {young, pending}
    assert services.redis.zrange("inloop:slack-user:U1:tasks", 0, -1) == []
    assert services.redis.zrange("inloop:slack-user:U3:tasks", 0, -1) == []


async def test_no_delivery_record_or_index_entry_outlives_its_task(
        client: TestClient, account: Account, services: Services,
        run_jobs: Callable[..., int]) -> None:
    ref = await new_task(client, account)
    services.store.complete(ref, {"decision": "Approve"}, BY)
    run_jobs(("webhook",))
    before = {k.decode() for k in services.redis.scan_iter(match="inloop:*", count=1000)}
    assert any(k.startswith("inloop:delivery:") for k in before)
    services.store.clock = at(NOW + timedelta(days=91))

    assert retention(services).run(90) == 1

    left = {k.decode() for k in services.redis.scan_iter(match="inloop:*", count=1000)}
    assert not any(k.startswith(("inloop:delivery:", "inloop:task:", "inloop:link:"))
                   for k in left)
    for key in left:
        if services.redis.type(key) == b"zset":
            assert services.redis.zscore(key, ref) is None, key


async def test_the_archive_holds_each_task_before_it_goes_across_batches(
        client: TestClient, account: Account, services: Services, tmp_path: Path) -> None:
    refs = [await new_task(client, account) for _ in range(5)]
    for ref in refs:
        services.store.cancel(ref, "done")
    services.store.clock = at(NOW + timedelta(days=3))

    assert retention(services, tmp_path, batch=2).run(1) == 5

    archived = [json.loads(line) for path in tmp_path.glob("tasks-*.jsonl")
                for line in path.read_text().splitlines()]
    assert sorted(account.ref(a["task"]["task_id"]) for a in archived) == sorted(refs)
    assert all(a["task"]["status"] == "cancelled" and a["deliveries"] for a in archived)
    assert all(keys_of(services.redis, ref) == [] for ref in refs)


async def test_a_file_claimed_again_while_it_is_discarded_stays(
        client: TestClient, account: Account, services: Services) -> None:
    old, other = await new_task(client, account), await new_task(client, account)
    sha = services.file_answers.store(old, b"bytes")
    services.store.complete(old, {"decision": "Approve"}, BY)
    storage, claims = services.file_answers.storage, services.files
    assert claims.release(old, sha)

    def claim_meanwhile() -> bool:  # another upload claims it between release and delete
        services.file_answers.store(other, b"bytes")
        return claims.claimed(sha)

    assert storage.discard(sha, claim_meanwhile) is False
    assert storage.read(sha) == b"bytes"


async def test_the_job_is_periodic_and_runs_through_a_worker(
        client: TestClient, account: Account, services: Services,
        run_jobs: Callable[..., int]) -> None:
    assert JOBS["tasks.retention"].every_s
    ref = await new_task(client, account)
    services.store.cancel(ref, "done")
    services.store.clock = at(NOW + timedelta(days=91))
    assert services.jobs.ensure_periodic("tasks.retention", NOW - timedelta(seconds=1))
    assert not services.jobs.ensure_periodic("tasks.retention", NOW)  # once, whoever asks
    queue = services.jobs["maintenance"]
    job_id = rq_job_id("retention")
    assert queue.scheduled_job_registry.get_job_ids() == [job_id]
    queue.enqueue_job(queue.fetch_job(job_id))  # due now (the scheduler's move)

    assert run_jobs(("maintenance",)) == 1

    assert keys_of(services.redis, ref) == []
    assert queue.fetch_job(job_id).return_value() == "removed 1 ended tasks"
    assert queue.scheduled_job_registry.get_job_ids() == [job_id]  # and again in an hour


async def test_zero_days_disables_retention(
        client: TestClient, account: Account, services: Services,
        run_jobs: Callable[..., int]) -> None:
    ref = await new_task(client, account)
    services.store.cancel(ref, "done")
    services.settings.retention_days = 0
    services.store.clock = at(NOW + timedelta(days=1000))
    with services.redis.pipeline() as pipe:
        services.jobs.enqueue(pipe, "tasks.retention")
        pipe.execute()
    run_jobs(("maintenance",))
    assert services.store.load(ref).status == "cancelled"


async def test_claims_older_than_the_claims_index_keep_their_file(
        client: TestClient, account: Account, services: Services) -> None:
    old, kept = await new_task(client, account), await new_task(client, account)
    sha = services.file_answers.store(old, b"from before")
    services.file_answers.store(kept, b"from before")
    services.redis.delete(f"inloop:file:{sha}:claims")  # as stored before the index
    services.store.cancel(old, "done")
    services.store.clock = at(NOW + timedelta(days=3))

    assert retention(services).run(1) == 1

    assert services.file_answers.storage.read(sha) == b"from before"
    assert services.redis.smembers(f"inloop:file:{sha}:claims") == {kept.encode()}


async def test_a_record_from_before_ended_at_goes_by_its_last_update(
        client: TestClient, account: Account, services: Services) -> None:
    ref = await new_task(client, account)
    services.store.cancel(ref, "done")
    record = json.loads(services.redis.get(f"inloop:task:{ref}") or b"{}")
    record.pop("ended_at")
    services.redis.set(f"inloop:task:{ref}", json.dumps(record))
    services.store.clock = at(NOW + timedelta(days=3))

    assert retention(services).run(1) == 1
    assert keys_of(services.redis, ref) == []


def test_inloop_worker_schedules_retention_once_unless_it_is_off(services: Services) -> None:
    registry = services.jobs["maintenance"].scheduled_job_registry
    services.settings.retention_days = 0
    run_worker(services, burst=True)
    assert registry.get_job_ids() == []
    services.settings.retention_days = 90
    run_worker(services, burst=True)
    run_worker(services, burst=True)  # a second worker (or a restart): still one job
    assert registry.get_job_ids() == [rq_job_id("retention")]
