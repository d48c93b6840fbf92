"""One read shared by the waiters of a task (api/store/waiters.py SharedRead): every
waiter gets the same object, a waiter that leaves never cancels the read for the others,
and a failed read fails every waiter."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from api.store.waiters import SharedRead


class Read:
    """A read that ends when the test says, counting how often it ran."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()
        self.error: Exception | None = None

    async def __call__(self) -> object:
        self.runs += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return object()


async def _seated(shared: SharedRead, count: int) -> list[asyncio.Task[object]]:
    async def wait() -> object:
        return await shared.join()

    seats = [asyncio.create_task(wait()) for _ in range(count)]
    await asyncio.sleep(0)  # every waiter has joined
    return seats


async def test_a_waiter_that_leaves_never_cancels_the_read_of_the_others() -> None:
    read = Read()
    shared = SharedRead(0, read, lambda _: None)
    leaving, *staying = await _seated(shared, 3)
    leaving.cancel()
    await asyncio.sleep(0)
    read.release.set()
    results = await asyncio.gather(*staying)
    assert results[0] is results[1] and read.runs == 1
    assert leaving.cancelled()


async def test_a_failed_read_fails_every_waiter() -> None:
    read = Read()
    read.error = RedisConnectionError("gone")
    shared = SharedRead(0, read, lambda _: None)
    seats = await _seated(shared, 2)
    read.release.set()
    for seat in seats:
        with pytest.raises(RedisConnectionError):
            await seat
