"""A waiter's wake-up flag (api/store/waiters.py Wakeup): set before or during a sleep, it
ends the sleep; cleared, it lets the next sleep run to its time."""

from __future__ import annotations

import asyncio

from api.store.waiters import Wakeup


async def test_a_set_flag_ends_the_sleep_at_once_until_cleared() -> None:
    woken = Wakeup()
    woken.set()
    await asyncio.wait_for(woken.sleep(60), 1)  # already set: no wait
    woken.clear()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await woken.sleep(0.05)
    assert loop.time() - started >= 0.04


async def test_a_set_during_the_sleep_wakes_it() -> None:
    woken = Wakeup()
    sleeping = asyncio.create_task(woken.sleep(60))
    await asyncio.sleep(0.01)
    assert not sleeping.done()
    woken.set()
    await asyncio.wait_for(sleeping, 1)
    woken.set()  # a second wake-up with nobody asleep is harmless
