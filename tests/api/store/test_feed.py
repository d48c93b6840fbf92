"""The dashboards' task feed against real Valkey: a change reaches its own org's
listeners only, and a routing failure makes every page read again instead of stopping
the feed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from api.runtime import Services
from api.store.feed import Listener, TaskFeed
from tests.conftest import Account, AccountFactory
from tests.fixtures import example


@pytest.fixture
async def feed(services: Services) -> AsyncIterator[TaskFeed]:
    redis = services.async_redis()
    running = TaskFeed(redis)
    await running.start()
    yield running
    await running.stop()
    await redis.aclose()


async def woken(listener: Listener, timeout: float) -> bool:
    try:
        return await asyncio.wait_for(listener.changed(), timeout)
    except TimeoutError:
        return False


async def test_a_change_reaches_its_org_only_and_a_failure_wakes_everyone(
        feed: TaskFeed, services: Services, account: Account, make_account: AccountFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    other = make_account()
    created, _ = services.tasks.create(services.directory.authenticate(account.token),
                                       example("hpi_approval"))
    ref = account.ref(created["task_id"])
    with feed.listen(account.org_id) as mine, feed.listen(other.org_id) as theirs:
        feed.tell(ref)
        assert await woken(mine, 2) and not await woken(theirs, 0.3)

        async def broken(refs: list[str]) -> None:
            raise ValueError("a surprise")

        monkeypatch.setattr(feed, "_route", broken)
        feed.tell(ref)
        assert await woken(theirs, 2) and await woken(mine, 2)  # everyone reads again
        monkeypatch.undo()
        feed.tell(ref)  # the feed still runs
        assert await woken(mine, 2) and not await woken(theirs, 0.3)
    assert feed.listening() == 0
