"""Long-poll waiters: one Redis pub/sub connection per process, fanned out in process.

Pub/sub is at-most-once, so a message only says "look again": a waiter registers, makes
sure the subscription is live, reads the task, and reads it again after every wake-up.
After a lost connection the hub re-subscribes and wakes every waiter, because messages
published meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api import metrics
from api.store import keys

log = logging.getLogger(__name__)


class Snapshot(Protocol):
    """What a waiter's read gives (a Task, or a Task with its rendered answer): the hub
    only asks whether the task is still open."""

    @property
    def open(self) -> bool: ...


S = TypeVar("S", bound=Snapshot)

# Told of every published ref, and of None after a (re)subscription: anything may have
# changed meanwhile. Called on the hub's loop; must not block.
Observer = Callable[[str | None], None]


class Wakeup:
    """One waiter's flag: set by a wake-up, cleared before each read. Lighter than an
    asyncio.Event (no deque) and its timed wait (no Timeout, no extra frame): 10,000
    parked waiters each hold one."""

    __slots__ = ("_future", "_set")

    def __init__(self) -> None:
        self._set = False
        self._future: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def sleep(self, seconds: float) -> None:
        """Until set (or already set), or `seconds` pass."""
        if self._set:
            return
        loop = asyncio.get_running_loop()
        self._future = future = loop.create_future()
        timer = loop.call_later(seconds, _resolve, future)
        try:
            await future
        finally:
            timer.cancel()
            self._future = None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class SharedRead:
    """One read of a task, for every waiter that joins it while it runs. Each waiter
    awaits a seat of its own, so one that leaves (its request cancelled) never cancels
    the read; lighter than an asyncio.shield each (one future and one callback per
    waiter, not two futures and three callbacks): 100 waiters of a task wake at once."""

    __slots__ = ("_ended", "_read", "_seats", "epoch")

    def __init__(self, epoch: int, read: Callable[[], Awaitable[Any]],
                 ended: Callable[[SharedRead], None]) -> None:
        """`ended` is told as the read ends, before any seat gets the answer."""
        self.epoch = epoch
        self._ended = ended
        self._seats: list[asyncio.Future[Any]] = []
        self._read = asyncio.ensure_future(read())
        self._read.add_done_callback(self._deliver)

    def join(self) -> asyncio.Future[Any]:
        seat = self._read.get_loop().create_future()
        self._seats.append(seat)
        return seat

    def _deliver(self, read: asyncio.Future[Any]) -> None:
        self._ended(self)  # so that nobody joins a read whose seats are served
        error = None if read.cancelled() else read.exception()  # retrieved, seats or not
        for seat in self._seats:
            if seat.done():  # its waiter has left
                continue
            if read.cancelled():
                seat.cancel()
            elif error is not None:
                seat.set_exception(error)
            else:
                seat.set_result(read.result())
        self._seats.clear()


class WaitHub:
    def __init__(self, redis: Redis, *, reconnect_delay: float = 0.5) -> None:
        self._redis = redis
        self._waiters: defaultdict[str, set[Wakeup]] = defaultdict(set)
        # Waiters of one task share a read, but only one started after the latest wake-up
        # of that task (same epoch): joining an older read could miss the change.
        self._epochs: defaultdict[str, int] = defaultdict(int)
        # Every waiter of a read gets the same object, so what it renders once (the
        # response body) serves them all.
        self._reads: dict[str, SharedRead] = {}
        self._live = asyncio.Event()
        self._reconnect_delay = reconnect_delay
        self._runner: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None
        self._stopping = False
        self._observers: list[Observer] = []

    def observe(self, observer: Observer) -> None:
        """Share the hub's one subscription with another consumer (api.store.feed)."""
        self._observers.append(observer)

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="inloop-wait-hub")

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._stopping = True
        self._runner.cancel()
        _, pending = await asyncio.wait({self._runner}, timeout=1)
        if pending and self._pubsub is not None:
            # redis-py can swallow a cancel while blocked in a read; closing the
            # connection ends that read, and the stop flag ends the loop.
            await self._pubsub.aclose()
            await asyncio.wait(pending, timeout=2)

    async def wait(self, ref: str, timeout: float, read: Callable[[], Awaitable[S]],
                   expires_in: float | None = None) -> S:
        """`read` of the task (`ref`, as published on every transition) once it has
        left `pending`, or as it is when `timeout` passes. Waiters of one task share
        their reads: each gets the very object another waiter's `read` returned.

        `expires_in`: when the task's own deadline falls, read it again even without a
        wake-up (reading an overdue task expires it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        recheck = None if expires_in is None else loop.time() + max(expires_in, 0)
        woken = Wakeup()
        self._waiters[ref].add(woken)
        metrics.WAITERS.inc()
        try:
            async with asyncio.timeout(timeout):
                await self._live.wait()
            while True:
                woken.clear()  # before the read: a wake-up after it is never lost
                task = await _read_or_none(lambda: self._shared_read(ref, read))
                remaining = deadline - loop.time()
                if task is not None and (not task.open or remaining <= 0):
                    return task
                if remaining <= 0:
                    return await read()  # still failing at the deadline: let it raise
                # After a failed read, look again soon: Redis may be back before a wake-up.
                nap = _nap(loop.time(), remaining, task, recheck)
                del task  # a parked waiter holds no task record
                await woken.sleep(nap)
        except TimeoutError:
            return await read()
        finally:
            metrics.WAITERS.dec()
            self._forget(ref, woken)

    def _shared_read(self, ref: str, read: Callable[[], Awaitable[S]]) -> asyncio.Future[S]:
        epoch = self._epochs[ref]
        current = self._reads.get(ref)
        if current is None or current.epoch != epoch:
            current = self._reads[ref] = SharedRead(
                epoch, read, lambda ended: self._drop_read(ref, ended))
        return current.join()

    def _drop_read(self, ref: str, done: SharedRead) -> None:
        if self._reads.get(ref) is done:
            del self._reads[ref]

    def _forget(self, ref: str, woken: Wakeup) -> None:
        group = self._waiters.get(ref)
        if group is not None:
            group.discard(woken)
            if not group:
                del self._waiters[ref]
                # A read started for the last waiter must not serve a later one: with the
                # epoch gone, a new waiter would take it for current.
                self._epochs.pop(ref, None)
                self._reads.pop(ref, None)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._listen()
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                if not self._stopping:
                    log.warning("wait hub lost Redis (%s); reconnecting", error)
            except Exception:  # the hub must outlive any surprise, or every wait stalls
                log.exception("wait hub failed; restarting it")
            self._live.clear()
            await asyncio.sleep(self._reconnect_delay)

    async def _listen(self) -> None:
        async with self._redis.pubsub() as pubsub:
            self._pubsub = pubsub
            await pubsub.subscribe(keys.EVENTS_CHANNEL)
            while not self._stopping:
                message = await pubsub.get_message(timeout=30)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self._live.set()
                    self._wake_all()  # anything published while we were away is lost
                    self._tell(None)
                elif message["type"] == "message":
                    self._wake(message["data"].decode())
                    self._tell(message["data"].decode())

    def _tell(self, ref: str | None) -> None:
        for observer in self._observers:
            observer(ref)

    def _wake(self, ref: str) -> None:
        if ref not in self._waiters:
            return
        self._epochs[ref] += 1
        for woken in self._waiters[ref]:
            woken.set()

    def _wake_all(self) -> None:
        for ref in self._waiters:
            self._epochs[ref] += 1
        for group in self._waiters.values():
            for woken in group:
                woken.set()


def _nap(now: float, remaining: float, task: Snapshot | None,
         recheck: float | None) -> float:
    if task is None:
        return min(remaining, 0.5)  # Redis was unreachable: look again soon
    if recheck is not None and recheck > now - 1:
        return min(remaining, max(recheck - now, 0) + 0.05)
    return remaining


async def _read_or_none(read: Callable[[], Awaitable[S]]) -> S | None:
    """The task, or None while Redis is briefly unreachable (the wait goes on)."""
    try:
        return await read()
    except (RedisConnectionError, RedisTimeoutError, OSError):
        return None
