"""The three HPI documentation examples: create, read back, complete, wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Account, create
from tests.fixtures import EXAMPLES, example
from tests.images import png

PNG = png()
UPLOADS = {"contract": ("contract.pdf", "application/pdf", b"%PDF-1.4 signed"),
           "signature": ("signature.png", "image/png", PNG)}
ANSWERS: dict[str, dict[str, Any]] = {
    "hpi_approval": {"decision": "Approve", "comments": "Looks good, ship it!"},
    "hpi_feedback": {"role": "PM", "start_date": "2026-02-24T12:00:00+00:00",
                     "ease_of_use": 7, "overall_rating": 4, "comments": "Zoë likes it"},
    "hpi_onboarding": {"full_name": "Ada Lovelace", "department": "Engineering",
                       "contract": "upload", "approved": True, "signature": "upload"},
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

    answers = dict(ANSWERS[name])
    for field, (filename, kind, data) in UPLOADS.items():
        if field in answers:
            answers[field] = await upload(client, account, task_id, field, filename, kind, data)
    done = await client.post(f"/api/v1/tasks/{task_id}/complete",
                             json={"data": answers}, headers=account.headers)
    body = await done.json()
    assert done.status == 200, body
    assert body["status"] == "completed" and body["version"] == 2
    assert body["data"] == answers
    assert body["completed_by"] == {"channel": "api", "id": account.member.id,
                                    "name": account.member.name}

    waited = await client.get(f"/api/v1/tasks/{task_id}/wait?timeout=1",
                              headers=account.headers)
    assert await waited.json() == {"task_id": task_id, "status": "completed",
                                   "data": answers, "completed_at": body["completed_at"]}


async def upload(client: TestClient, account: Account, task_id: str, field: str,
                 filename: str, content_type: str, data: bytes) -> dict[str, Any]:
    response = await client.post(f"/api/v1/tasks/{task_id}/files/{field}?filename={filename}",
                                 data=data, headers={**account.headers,
                                                     "Content-Type": content_type})
    ref: dict[str, Any] = await response.json()
    assert response.status == 201, ref
    assert ref["size"] == len(data) and ref["name"] == filename
    download = await client.get(ref["url"].replace("http://inloop.test", ""),
                                headers=account.headers)
    assert download.status == 404  # nothing answered yet: the file is not an answer
    return ref


async def test_file_answers_must_be_uploaded_for_the_task(client: TestClient,
                                                          account: Account) -> None:
    """A sha256 of a file uploaded for another task (maybe another org's) is refused."""
    other = (await create(client, account, example("hpi_onboarding")))["task_id"]
    ref = await upload(client, account, other, "contract", "c.pdf", "application/pdf", b"x")
    task_id = (await create(client, account, example("hpi_onboarding")))["task_id"]
    data = {"full_name": "A", "contract": ref, "signature": ref}
    response = await client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data},
                                 headers=account.headers)
    details = {d["loc"]: d["type"] for d in (await response.json())["details"]}
    assert response.status == 400 and details["data.contract"] == "unknown_file"
    bad = await client.post(f"/api/v1/tasks/{task_id}/files/signature", data=b"GIF89a",
                            headers={**account.headers, "Content-Type": "image/png"})
    assert bad.status == 400


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
