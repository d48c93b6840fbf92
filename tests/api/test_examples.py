"""The three HPI documentation examples: create, read back, complete, wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Account, create
from tests.fixtures import EXAMPLES, example

FILE = {"name": "contract.pdf", "size": 1234, "content_type": "application/pdf",
        "sha256": "ab" * 32, "url": "http://inloop.test/files/x"}
SIGNATURE = {**FILE, "name": "signature.png", "content_type": "image/png"}
ANSWERS: dict[str, dict[str, Any]] = {
    "hpi_approval": {"decision": "Approve", "comments": "Looks good, ship it!"},
    "hpi_feedback": {"role": "PM", "start_date": "2026-02-24T12:00:00+00:00",
                     "ease_of_use": 7, "overall_rating": 4, "comments": "Zoë likes it"},
    "hpi_onboarding": {"full_name": "Ada Lovelace", "department": "Engineering",
                       "contract": FILE, "approved": True, "signature": SIGNATURE},
}


@pytest.mark.parametrize("name", EXAMPLES)
async def test_example_create_read_complete(client: TestClient, account: Account,
                                            name: str) -> None:
    created = await create(client, account, example(name))
    assert set(created) == {"task_id", "link_id", "url", "requires_otp", "sinks", "created_at"}
    assert created["url"] == f"http://inloop.test/t/{created['link_id']}"
    assert created["requires_otp"] is False
    task_id = created["task_id"]

    got = await client.get(f"/api/v1/tasks/{task_id}", headers=account.headers)
    task = await got.json()
    assert got.status == 200
    assert task["status"] == "pending" and task["version"] == 1
    assert task["title"] == example(name)["title"]
    assert [s["id"] for s in task["steps"]] == [s["id"] for s in example(name)["steps"]]
    assert task["priority"] == "medium" and task["data"] == {}

    done = await client.post(f"/api/v1/tasks/{task_id}/complete",
                             json={"data": ANSWERS[name]}, headers=account.headers)
    body = await done.json()
    assert done.status == 200, body
    assert body["status"] == "completed" and body["version"] == 2
    assert body["data"] == ANSWERS[name]
    assert body["completed_by"] == {"channel": "api", "id": account.member.id,
                                    "name": account.member.name}

    waited = await client.get(f"/api/v1/tasks/{task_id}/wait?timeout=1",
                              headers=account.headers)
    assert await waited.json() == {"task_id": task_id, "status": "completed",
                                   "data": ANSWERS[name], "completed_at": body["completed_at"]}


async def test_wait_returns_soon_after_completion(client: TestClient, account: Account) -> None:
    task_id = (await create(client, account, example("hpi_approval")))["task_id"]
    loop = asyncio.get_running_loop()
    waiter = asyncio.create_task(client.get(f"/api/v1/tasks/{task_id}/wait?timeout=20",
                                            headers=account.headers))
    await asyncio.sleep(0.3)
    assert not waiter.done()
    started = loop.time()
    await client.post(f"/api/v1/tasks/{task_id}/complete",
                      json={"data": {"decision": "Reject"}}, headers=account.headers)
    response = await waiter
    elapsed = loop.time() - started
    assert (await response.json())["status"] == "completed"
    assert elapsed < 0.1, f"wait answered {elapsed * 1000:.0f} ms after completion"


async def test_wait_times_out_pending_and_leaves_task_alone(client: TestClient,
                                                          account: Account) -> None:
    task_id = (await create(client, account, example("hpi_approval")))["task_id"]
    response = await client.get(f"/api/v1/tasks/{task_id}/wait?timeout=0.5",
                                headers=account.headers)
    assert (await response.json()) == {"task_id": task_id, "status": "pending", "data": {},
                                       "completed_at": None}
    task = await (await client.get(f"/api/v1/tasks/{task_id}", headers=account.headers)).json()
    assert task["status"] == "pending" and task["version"] == 1
