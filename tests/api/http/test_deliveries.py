"""`GET /api/v1/tasks/{id}/deliveries`, `POST /api/v1/deliveries/{id}/retry`, SSRF at creation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api.domain.events import event_id
from api.runtime import Services
from api.store.deliveries import DeliveryLog, delivery_id
from tests.conftest import Account, AccountFactory, create
from tests.workers.conftest import ANSWERS, TASK
from tests.workers.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


async def _task_with_hook(client: TestClient, account: Account, url: str) -> str:
    body = {**TASK, "sinks": [{"type": "webhook", "url": url},
                              {"type": "email", "to": "ops@example.com", "events": ["failed"]}]}
    return str((await create(client, account, body))["task_id"])


async def _complete(client: TestClient, account: Account, task_id: str) -> None:
    done = await client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": ANSWERS},
                             headers=account.headers)
    assert done.status == 200, await done.json()


async def _deliveries(client: TestClient, account: Account, task_id: str,
                      status: int = 200) -> Any:
    got = await client.get(f"/api/v1/tasks/{task_id}/deliveries", headers=account.headers)
    assert got.status == status
    return await got.json()


async def test_deliveries_are_listed_and_a_gave_up_one_is_retried(
        client: TestClient, account: Account, services: Services, receiver: Receiver,
        run_jobs: Callable[..., int]) -> None:
    services.settings.webhook_retry_schedule = []  # give up on the first failure
    receiver.plan = [410]
    task_id = await _task_with_hook(client, account, receiver.url)
    assert (await _deliveries(client, account, task_id))["deliveries"] == []
    await _complete(client, account, task_id)
    [queued] = (await _deliveries(client, account, task_id))["deliveries"]
    assert queued["status"] == "queued" and queued["attempts"] == []
    assert queued["event_id"] == event_id(account.ref(task_id), "completed")
    assert queued["task_id"] == task_id

    run_jobs(("webhook",))  # in the main thread: RQ installs signal handlers
    [gave_up] = (await _deliveries(client, account, task_id))["deliveries"]
    assert gave_up["status"] == "gave_up" and gave_up["target"] == receiver.url
    assert [a["status_code"] for a in gave_up["attempts"]] == [410]

    retried = await client.post(f"/api/v1/deliveries/{gave_up['id']}/retry",
                                headers=account.headers)
    assert retried.status == 202 and (await retried.json())["status"] == "queued"
    run_jobs(("webhook",))
    [done] = (await _deliveries(client, account, task_id))["deliveries"]
    assert done["status"] == "delivered"
    assert [a["status_code"] for a in done["attempts"]] == [410, 200]
    again = await client.post(f"/api/v1/deliveries/{gave_up['id']}/retry",
                              headers=account.headers)
    assert again.status == 409


async def test_other_orgs_and_scopes_are_refused(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, receiver: Receiver) -> None:
    task_id = await _task_with_hook(client, account, receiver.url)
    await _complete(client, account, task_id)
    stranger = make_account()
    await _deliveries(client, stranger, task_id, status=404)
    did = delivery_id(account.ref(task_id), "completed", 0)
    services.redis.hset(f"inloop:delivery:{did}", mapping={
        "org_id": account.org_id, "status": "gave_up", "task_id": task_id,
        "task_ref": account.ref(task_id),
        "event": "completed", "sink_index": 0, "sink_type": "webhook"})
    refused = await client.post(f"/api/v1/deliveries/{did}/retry", headers=stranger.headers)
    assert refused.status == 404
    reader = make_account(scopes=("tasks:read",), org_id=account.org_id)
    forbidden = await client.post(f"/api/v1/deliveries/{did}/retry", headers=reader.headers)
    assert forbidden.status == 403
    assert DeliveryLog(services.store).status(did) == "gave_up"


async def test_private_webhook_url_is_refused_at_creation(
        client: TestClient, account: Account, services: Services) -> None:
    services.tasks.allow_private_webhooks = False
    body = {**TASK, "sinks": [{"type": "webhook", "url": "http://127.0.0.1/hook"}]}
    refused = await create(client, account, body, status=400)
    [detail] = refused["details"]
    assert detail["loc"] == "sinks.0.url" and detail["type"] == "ssrf_refused"


async def test_listing_needs_tasks_read(client: TestClient, account: Account,
                                        make_account: AccountFactory) -> None:
    task_id = (await create(client, account, TASK))["task_id"]
    creator = make_account(scopes=("tasks:create",), org_id=account.org_id)
    await _deliveries(client, creator, task_id, status=403)
