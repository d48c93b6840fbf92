"""The dashboard's event stream without a browser: the session, org scoping, the end of a
stream, and cleanup when the browser goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from api.runtime import FEED
from api.web import live
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.helpers import dashboard_sign_in


async def next_event(stream: ClientResponse, timeout: float) -> str | None:
    """The name of the stream's next event (pings skipped), None if none comes in time."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                line = (await stream.content.readline()).decode().strip()
                if line.startswith("event: "):
                    return line.removeprefix("event: ")
                if not line and stream.content.at_eof():
                    return "end"
    except TimeoutError:
        return None


async def test_the_stream_needs_a_signed_in_member(client: TestClient) -> None:
    response = await client.get("/dashboard/events")
    assert response.status == 401


async def test_a_member_hears_of_their_own_org_only(
        client: TestClient, account: Account, make_account: AccountFactory,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    other = make_account()
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    async with client.get("/dashboard/events") as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert await next_event(stream, 5) == "ready"
        theirs = await create(client, other, example("hpi_approval"))
        await client.post(f"/api/v1/tasks/{theirs['task_id']}/cancel", json={},
                          headers=other.headers)
        assert await next_event(stream, 1) is None  # another org's create and cancel
        await create(client, account, example("hpi_approval"))
        assert await next_event(stream, 5) == "changed"


async def test_a_task_pages_stream_follows_its_own_task(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    task = await create(client, account, example("hpi_approval"))
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    async with client.get(f"/dashboard/events?task={task['task_id']}") as stream:
        assert await next_event(stream, 5) == "ready"
        await create(client, account, example("hpi_approval"))
        assert await next_event(stream, 1) is None  # another task of the org
        await client.post(f"/api/v1/tasks/{task['task_id']}/complete", headers=account.headers,
                          json={"data": {"decision": "Approve"}})
        assert await next_event(stream, 5) == "changed"


async def test_a_stream_ends_after_its_time_and_forgets_its_listener(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "STREAM_MAX_S", 0.5)
    feed = client.app[FEED]
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    async with client.get("/dashboard/events") as stream:
        assert await next_event(stream, 5) == "ready"
        assert feed.listening() == 1
        assert await next_event(stream, 5) == "end"
    assert feed.listening() == 0


async def test_a_browser_that_leaves_is_forgotten(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "PING_S", 0.2)
    feed = client.app[FEED]
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    stream = await client.get("/dashboard/events")
    assert await next_event(stream, 5) == "ready"
    assert feed.listening() == 1
    stream.close()  # the browser goes away: its next ping fails
    async with asyncio.timeout(5):
        while feed.listening():
            await asyncio.sleep(0.05)
