"""Live changes of an org's tasks, for open dashboards (the server-sent events of
api.web.live).

The wait hub's one subscription per process tells the feed every published task ref (see
waiters.WaitHub.observe). A ref reaches only the listeners of the org whose task it is,
checked against that org's task index (the creation's own MULTI puts it there, before it
publishes), so no page hears of another org's tasks. Refs that arrive together are routed
together: one ZMSCORE per org with listeners. A listener learns only *that* its org's
tasks changed; the page then reads them through the usual org-scoped reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.store import keys

log = logging.getLogger(__name__)
BATCH = 500  # refs per ZMSCORE


class Listener:
    """One open page: woken when its org's tasks change (or only task `ref`'s, when
    given), or when the feed closes."""

    def __init__(self, ref: str | None = None) -> None:
        self._changed = asyncio.Event()
        self.ref = ref
        self.closed = False

    def wake(self, refs: set[str] | None = None) -> None:
        """`refs` changed (None: anything may have)."""
        if refs is None or self.ref is None or self.ref in refs:
            self._changed.set()

    async def changed(self) -> bool:
        """Wait for a change (changes since the last call count as one); False once the
        feed has closed."""
        await self._changed.wait()
        self._changed.clear()
        return not self.closed


class TaskFeed:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listeners: defaultdict[str, set[Listener]] = defaultdict(set)
        self._refs: set[str] = set()
        self._arrived = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    def tell(self, ref: str | None) -> None:
        """The hub's observer: a published ref, or None when messages may have been lost
        (after a reconnect), which every listener must hear: it reads again."""
        if ref is None:
            for group in self._listeners.values():
                for listener in group:
                    listener.wake()
        elif self._listeners:
            self._refs.add(ref)
            self._arrived.set()

    @contextlib.contextmanager
    def listen(self, org_id: str, ref: str | None = None) -> Iterator[Listener]:
        """A listener for `org_id`'s changes (of its task `ref` only, when given) while
        the block runs."""
        listener = Listener(ref)
        self._listeners[org_id].add(listener)
        try:
            yield listener
        finally:
            group = self._listeners[org_id]
            group.discard(listener)
            if not group:
                del self._listeners[org_id]

    def listening(self) -> int:
        return sum(len(group) for group in self._listeners.values())

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="inloop-task-feed")

    def close(self) -> None:
        """Wake every listener with `closed` set: open streams end (server shutdown)."""
        for group in self._listeners.values():
            for listener in group:
                listener.closed = True
                listener.wake()

    async def stop(self) -> None:
        self.close()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.wait({self._runner}, timeout=2)

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            refs, self._refs = list(self._refs), set()
            for start in range(0, len(refs), BATCH):
                try:
                    await self._route(refs[start:start + BATCH])
                except (RedisError, OSError) as error:
                    log.warning("task feed could not route changes (%s): every page "
                                "reads again", error)
                    self.tell(None)
                except Exception:  # the feed must outlive any surprise, or pages go stale
                    log.exception("task feed failed to route changes: every page reads again")
                    self.tell(None)

    async def _route(self, refs: list[str]) -> None:
        orgs = list(self._listeners)
        if not orgs:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for org_id in orgs:
                pipe.zmscore(keys.org_tasks(org_id), refs)
            found = await pipe.execute()
        for org_id, scores in zip(orgs, found, strict=True):
            changed = {ref for ref, score in zip(refs, scores, strict=True) if score is not None}
            if changed:
                for listener in self._listeners.get(org_id, ()):
                    listener.wake(changed)
