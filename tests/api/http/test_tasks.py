"""Idempotent creation, exactly-once transitions, cancel, expiry and listing."""

from __future__ import annotations

import asyncio
import math
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from api.domain.errors import Conflict
from api.domain.task import CompletedBy
from api.runtime import Services
from api.store.jobs import rq_job_id
from tests.conftest import Account, create
from tests.fixtures import example


async def test_same_task_id_same_body_replays_the_original(client: TestClient,
                                                           account: Account) -> None:
    body = {**example("hpi_approval"), "task_id": str(uuid.uuid4()),
            "sinks": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]}
    first = await create(client, account, body)
    again = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == first
    assert first["sinks"][0]["secret"].startswith("whsec_")
    listed = await (await client.get("/api/v1/tasks", headers=account.headers)).json()
    assert [t["task_id"] for t in listed["tasks"]] == [body["task_id"]]


async def test_concurrent_creates_with_one_task_id_make_one_task(
        client: TestClient, account: Account, services: Services) -> None:
    body = {**example("hpi_approval"), "task_id": str(uuid.uuid4()),
            "sinks": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]}
    responses = await asyncio.gather(*(
        client.post("/api/v1/tasks", json=body, headers=account.headers) for _ in range(20)))
    assert [r.status for r in responses] == [201] * 20
    bodies = [await r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)  # one link, one generated secret
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    listed = await (await client.get("/api/v1/tasks", headers=account.headers)).json()
    assert [t["task_id"] for t in listed["tasks"]] == [body["task_id"]]
    assert services.store.get(account.org_id, body["task_id"]).link_id == bodies[0]["link_id"]


async def test_same_task_id_other_body_is_409(client: TestClient, account: Account) -> None:
    body = {**example("hpi_approval"), "task_id": str(uuid.uuid4())}
    await create(client, account, body)
    response = await client.post("/api/v1/tasks", json={**body, "title": "Other"},
                                 headers=account.headers)
    assert response.status == 409
    task = await (await client.get(f"/api/v1/tasks/{body['task_id']}",
                                   headers=account.headers)).json()
    assert task["title"] == body["title"]


async def test_webhook_secret_is_returned_once_never_read_back(client: TestClient,
                                                               account: Account) -> None:
    body = {**example("hpi_approval"), "sinks": [
        {"type": "webhook", "url": "http://127.0.0.1:9/a", "events": ["completed"]},
        {"type": "nats", "subject": "hitl.done"}, {"type": "email", "to": "m@example.com"}]}
    created = await create(client, account, body)
    assert created["sinks"][1:] == [{"type": "nats", "subject": "hitl.done"},
                                    {"type": "email", "to": "m@example.com"}]
    task = await (await client.get(f"/api/v1/tasks/{created['task_id']}",
                                   headers=account.headers)).json()
    assert all("secret" not in s for s in task["sinks"])
    assert task["sinks"][0]["events"] == ["completed"]


def test_fifty_concurrent_completions_exactly_one_wins(services: Services,
                                                       account: Account) -> None:
    response, _ = services.tasks.create(_principal(services, account), example("hpi_approval"))
    task = services.store.get(account.org_id, response["task_id"])

    def attempt(i: int) -> str:
        by = CompletedBy(channel="api", id=f"caller-{i}", name=f"Caller {i}")
        try:
            services.tasks.complete(task, {"decision": "Approve"}, by)
        except Conflict:
            return "409"
        return "won"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("won") == 1 and outcomes.count("409") == 49
    final = services.store.load(task.ref)
    assert final.status == "completed" and final.version == 2


async def test_fifty_concurrent_http_completions(client: TestClient, account: Account) -> None:
    task_id = (await create(client, account, example("hpi_approval")))["task_id"]
    responses = await asyncio.gather(*[
        client.post(f"/api/v1/tasks/{task_id}/complete",
                    json={"data": {"decision": "Approve"}}, headers=account.headers)
        for _ in range(50)])
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] + [409] * 49


async def test_cancel_then_complete_is_409(client: TestClient, account: Account) -> None:
    task_id = (await create(client, account, example("hpi_approval")))["task_id"]
    cancelled = await client.post(f"/api/v1/tasks/{task_id}/cancel",
                                  json={"reason": "superseded"}, headers=account.headers)
    body = await cancelled.json()
    assert body["status"] == "cancelled" and body["cancel_reason"] == "superseded"
    again = await client.post(f"/api/v1/tasks/{task_id}/cancel", headers=account.headers)
    assert again.status == 409
    done = await client.post(f"/api/v1/tasks/{task_id}/complete",
                             json={"data": {"decision": "Approve"}}, headers=account.headers)
    assert done.status == 409


async def test_expired_task_fails_by_the_scheduled_job(client: TestClient, account: Account,
                                                       services: Services, run_jobs: Any) -> None:
    task_id = (await create(client, account, {**example("hpi_approval"),
                                              "expires_in": 60}))["task_id"]
    task = services.store.get(account.org_id, task_id)
    assert task.expires_at == task.created_at + timedelta(seconds=60)
    scheduled = services.jobs["expiry"].scheduled_job_registry.get_job_ids()
    assert scheduled == [rq_job_id(f"expire:{task.ref}")]
    services.store.clock = lambda: task.created_at + timedelta(seconds=61)
    services.jobs["expiry"].enqueue_job(services.jobs["expiry"].fetch_job(scheduled[0]))
    assert run_jobs(("expiry",)) == 1
    raw = services.store.redis.get(f"inloop:task:{task.ref}")
    assert b'"status":"failed"' in raw and b'"code":"expired"' in raw


async def test_expiry_is_scheduled_for_the_second_after_expires_at(
        client: TestClient, account: Account, services: Services) -> None:
    task_id = (await create(client, account, {**example("hpi_approval"),
                                              "expires_in": 60}))["task_id"]
    expires_at = services.store.get(account.org_id, task_id).expires_at
    assert expires_at is not None
    registry = services.jobs["expiry"].scheduled_job_registry
    score = services.redis.zscore(registry.key, rq_job_id(f"expire:{account.ref(task_id)}"))
    # RQ releases a job once the current whole second reaches its score: never before.
    assert score == math.ceil(expires_at.timestamp()) and score >= expires_at.timestamp()


async def test_an_expiry_job_started_a_little_early_waits_and_expires(
        client: TestClient, account: Account, services: Services, run_jobs: Any) -> None:
    task_id = (await create(client, account, {**example("hpi_approval"),
                                              "expires_in": 60}))["task_id"]
    expires_at = services.store.get(account.org_id, task_id).expires_at
    assert expires_at is not None
    # The worker's clock reads 0.4 s before expires_at when the job starts.
    skew = expires_at - datetime.now(UTC) - timedelta(seconds=0.4)
    services.store.clock = lambda: datetime.now(UTC) + skew
    queue = services.jobs["expiry"]
    queue.enqueue_job(queue.fetch_job(rq_job_id(f"expire:{account.ref(task_id)}")))
    assert run_jobs(("expiry",)) == 1
    task = services.store.get(account.org_id, task_id)
    assert task.status == "failed" and task.errors[0].code == "expired"


async def test_overdue_task_reads_as_failed_even_before_the_job(client: TestClient,
                                                                account: Account,
                                                                services: Services) -> None:
    task_id = (await create(client, account, {**example("hpi_approval"),
                                              "expires_in": 60}))["task_id"]
    created_at = services.store.get(account.org_id, task_id).created_at
    services.store.clock = lambda: created_at + timedelta(seconds=60)
    task = await (await client.get(f"/api/v1/tasks/{task_id}", headers=account.headers)).json()
    assert task["status"] == "failed" and task["errors"][0]["code"] == "expired"
    late = await client.post(f"/api/v1/tasks/{task_id}/complete",
                             json={"data": {"decision": "Approve"}}, headers=account.headers)
    assert late.status == 409


async def test_listing_filters_and_cursor(client: TestClient, account: Account) -> None:
    ids = []
    for i in range(7):
        body = {**example("hpi_approval"), "title": f"Task {i}", "tags": ["even" if i % 2 == 0
                                                                          else "odd"],
                "process_id": "p1" if i < 3 else "p2", "corr_id": f"c{i}",
                "assignee_member_id": "me" if i == 6 else None}
        ids.append((await create(client, account, body))["task_id"])
    await client.post(f"/api/v1/tasks/{ids[0]}/cancel", headers=account.headers)
    pages, cursor = [], ""
    while cursor is not None:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(f"/api/v1/tasks{query}", headers=account.headers)).json()
        pages.append([t["task_id"] for t in page["tasks"]])
        cursor = page["next_cursor"]
    assert [i for page in pages for i in page] == ids[::-1] and [len(p) for p in pages] == [3, 3, 1]

    async def ids_for(query: str) -> list[str]:
        page = await (await client.get(f"/api/v1/tasks?{query}", headers=account.headers)).json()
        return [t["task_id"] for t in page["tasks"]]

    assert await ids_for("tag=even") == [ids[6], ids[4], ids[2], ids[0]]
    assert await ids_for("tag=even&status=pending") == [ids[6], ids[4], ids[2]]
    assert await ids_for("status=cancelled") == [ids[0]]
    assert await ids_for("process_id=p1") == [ids[2], ids[1], ids[0]]
    assert await ids_for("corr_id=c5") == [ids[5]]
    assert await ids_for("assignee=me") == [ids[6]]
    assert await ids_for(f"assignee={account.member.email}") == [ids[6]]
    assert await ids_for("assignee=someone@elsewhere.example") == []
    bad = await client.get("/api/v1/tasks?status=done", headers=account.headers)
    assert bad.status == 400 and (await bad.json())["details"][0]["loc"] == "status"


async def test_assignee_email_of_member_resolves_external_requires_otp(
        client: TestClient, account: Account) -> None:
    member = await create(client, account, {**example("hpi_approval"),
                                            "assignee_email": account.member.email.upper()})
    assert member["requires_otp"] is False
    task = await (await client.get(f"/api/v1/tasks/{member['task_id']}",
                                   headers=account.headers)).json()
    assert task["assignee_member_id"] == account.member.id
    external = await create(client, account, {**example("hpi_approval"),
                                              "assignee_email": "vendor@elsewhere.example",
                                              "assignee_phone": "+1 555 0100"})
    assert external["requires_otp"] is True


def _principal(services: Services, account: Account) -> Any:
    return services.directory.authenticate(account.token)
