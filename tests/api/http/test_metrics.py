"""`GET /metrics`: the counters a task moves through the real app and a real RQ job, and
the bearer token that guards it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.runtime import Services
from tests.api.http.teams import REJECT, make_team, respond, team_task
from tests.conftest import Account, AccountFactory, create
from tests.workers.conftest import ANSWERS, TASK
from tests.workers.receiver import (
    Receiver,
    receiver,  # noqa: F401 (fixture)
)

TOKEN = "metrics-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(client: TestClient) -> Samples:
    response = await client.get("/metrics", headers=AUTH)
    assert response.status == 200
    assert response.content_type == "text/plain"
    return samples(await response.text())


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


async def test_a_created_completed_and_delivered_task_moves_the_counters(
        client: TestClient, account: Account, services: Services, receiver: Receiver,  # noqa: F811
        run_jobs: Callable[..., int]) -> None:
    services.settings.metrics_token = TOKEN
    before = await scrape(client)
    body = {**TASK, "sinks": [{"type": "webhook", "url": receiver.url}]}
    task_id = (await create(client, account, body))["task_id"]
    queued = await scrape(client)
    done = await client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": ANSWERS},
                             headers=account.headers)
    assert done.status == 200
    run_jobs(("webhook",))
    receiver.wait_for(1)
    after = await scrape(client)
    assert moved(before, after, "inloop_tasks_created_total") == 1
    assert moved(before, after, "inloop_tasks_ended_total", status="completed",
                 outcome="api") == 1
    assert moved(before, after, "inloop_task_answer_seconds_count") == 1
    assert moved(before, after, "inloop_deliveries_total", kind="webhook", result="ok") == 1
    assert moved(before, after, "inloop_delivery_seconds_count", kind="webhook") == 1
    assert queued[("inloop_queue_depth", (("queue", "expiry"),))] >= 0
    assert after[("inloop_queue_depth", (("queue", "webhook"),))] == 0


async def test_metrics_need_the_token(client: TestClient, services: Services) -> None:
    services.settings.metrics_token = TOKEN
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status == 401
    assert (await wrong.json())["error"] == "unauthorized"


async def test_the_bearer_scheme_is_case_insensitive(client: TestClient,
                                                      services: Services) -> None:
    """RFC 9110: the auth scheme is case-insensitive, as the API's tokens take it."""
    services.settings.metrics_token = TOKEN
    response = await client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status == 200


async def test_metrics_are_off_without_a_token(client: TestClient) -> None:
    assert (await client.get("/metrics", headers=AUTH)).status == 404


async def test_open_waiters_are_a_gauge(client: TestClient, account: Account,
                                        services: Services) -> None:
    services.settings.metrics_token = TOKEN
    task_id = (await create(client, account, TASK))["task_id"]
    key = ("inloop_waiters", ())
    waiter = asyncio.create_task(client.get(f"/api/v1/tasks/{task_id}/wait?timeout=20",
                                            headers=account.headers))
    for _ in range(100):  # until the request is parked in the wait hub
        if (await scrape(client))[key] == 1:
            break
        await asyncio.sleep(0.05)
    assert (await scrape(client))[key] == 1
    await client.post(f"/api/v1/tasks/{task_id}/cancel", json={}, headers=account.headers)
    assert (await waiter).status == 200
    assert (await scrape(client))[key] == 0


async def test_a_team_task_ends_with_its_outcome(client: TestClient, services: Services,
                                                 make_account: AccountFactory) -> None:
    services.settings.metrics_token = TOKEN
    team = make_team(make_account)
    before = await scrape(client)
    task_id = (await create(client, team.admin, team_task(team.assignees())))["task_id"]
    await respond(client, team.members[0], task_id, REJECT)
    after = await scrape(client)
    assert moved(before, after, "inloop_tasks_ended_total", status="completed",
                 outcome="rejected") == 1
