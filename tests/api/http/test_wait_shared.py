"""Waiters of one task share its reads and its answer: one Redis read of the task per
wake-up, one body rendered for all of them, byte for byte what a lone waiter gets."""

from __future__ import annotations

import asyncio
import json

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY
from redis import Redis

from api.domain.task import CompletedBy, WaitResult
from api.runtime import Services
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example

BY = CompletedBy(channel="api", id="tester", name="Tester")
WAITERS = 100  # the test client's connection limit


def gets(redis: Redis) -> int:
    """GET calls Valkey has served so far (its own count, INFO commandstats)."""
    stats: dict[str, dict[str, int]] = redis.info("commandstats")  # type: ignore[assignment]
    return stats.get("cmdstat_get", {}).get("calls", 0)  # absent before the first GET


def waiters() -> float:
    return REGISTRY.get_sample_value("inloop_waiters") or 0


async def parked(count: float) -> None:
    for _ in range(200):
        if waiters() >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{waiters()} waiters parked, not {count}")


async def complete(services: Services, account: Account, task_id: str) -> None:
    await asyncio.to_thread(services.store.complete, account.ref(task_id),
                            {"decision": "Approve"}, BY)


def expected(services: Services, account: Account, task_id: str) -> bytes:
    """What web.json_response(WaitResult.of(task)) sends for the task as stored."""
    task = services.store.load(account.ref(task_id))
    return json.dumps(WaitResult.of(task)).encode()


async def answer(response: ClientResponse) -> bytes:
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return await response.read()


async def test_a_hundred_waiters_share_one_read_and_one_body(
        client: TestClient, account: Account, services: Services) -> None:
    alone, waited = [(await create(client, account, example("hpi_approval")))["task_id"]
                     for _ in range(2)]
    before = gets(services.redis)
    await complete(services, account, alone)
    without_waiters = gets(services.redis) - before  # the completion's own reads
    open_before = waiters()
    calls = [asyncio.create_task(client.get(f"/api/v1/tasks/{waited}/wait?timeout=30",
                                            headers=account.headers))
             for _ in range(WAITERS)]
    await parked(open_before + WAITERS)
    before = gets(services.redis)
    await complete(services, account, waited)
    bodies = {await answer(response) for response in await asyncio.gather(*calls)}
    with_waiters = gets(services.redis) - before  # the waiters' reads too, once answered
    assert bodies == {expected(services, account, waited)}
    assert json.loads(bodies.pop())["data"] == {"decision": "Approve"}
    assert with_waiters - without_waiters == 1  # the wake-up's one shared read


async def test_an_ended_task_and_a_timeout_answer_as_a_lone_waiter_did(
        client: TestClient, account: Account, services: Services) -> None:
    task_id = (await create(client, account, example("hpi_approval")))["task_id"]
    pending = await client.get(f"/api/v1/tasks/{task_id}/wait?timeout=1",
                               headers=account.headers)
    assert await answer(pending) == expected(services, account, task_id)
    assert json.loads(await pending.read())["status"] == "pending"
    await complete(services, account, task_id)
    ended = await client.get(f"/api/v1/tasks/{task_id}/wait?timeout=30",
                             headers=account.headers)
    assert await answer(ended) == expected(services, account, task_id)


async def test_a_waiter_on_another_orgs_task_is_a_404(
        client: TestClient, account: Account, make_account: AccountFactory) -> None:
    task_id = (await create(client, account, example("hpi_approval")))["task_id"]
    stranger = make_account()
    response = await client.get(f"/api/v1/tasks/{task_id}/wait?timeout=5",
                                headers=stranger.headers)
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
