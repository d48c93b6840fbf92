"""Tasks in Redis: creation, reads and atomic transitions.

Every change is WATCH -> read -> MULTI -> write (+ RQ jobs + PUBLISH) -> EXEC, retried on
a lost race, so a transition happens exactly once and its side effects (sink jobs, Slack
updates, waiter wake-ups) are committed with it or not at all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from redis import Redis, WatchError
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.client import Pipeline

from api import metrics
from api.domain.approval import Actor
from api.domain.errors import Conflict, NotFound
from api.domain.events import EVENT_TYPES, event_json
from api.domain.task import (
    OPEN_STATUSES,
    CompletedBy,
    Task,
    TaskCreate,
    TaskError,
    task_ref,
)
from api.domain.teams import default_on_expiry, ending_entry
from api.store import keys
from api.store.codec import text
from api.store.connection import aconfirm_replicated, confirm_replicated
from api.store.creation import NewTask, new_task, replayed, write_new
from api.store.jobs import Jobs
from api.store.listing import score
from api.store.trail import note

Clock = Callable[[], datetime]
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class TaskStore:
    def __init__(self, redis: Redis, jobs: Jobs, clock: Clock = utcnow) -> None:
        self.redis = redis
        self.jobs = jobs
        self.clock = clock

    # -- creation ---------------------------------------------------------------------

    def create(self, body: TaskCreate, *, org_id: str, created_by: str, body_hash: str,
               secrets: list[str | None], revealed: list[str | None], slack: bool = False,
               mail: Sequence[str] = (), **resolved: Any) -> tuple[dict[str, Any], bool]:
        """Store a new task; `(201 body, replayed)`. Same `task_id` + same body replays
        (within the org: another org's task_id is another task).

        `secrets` sign the sinks' webhooks; `revealed` are the ones shown in the response
        (generated ones: an integrator's own secret is never echoed). `slack` enqueues the
        Slack delivery, `mail` the task's link to these addresses (email-only assignees);
        `resolved` are the fields the service decided (assignees, link)."""
        new = new_task(body, self.clock(), org_id=org_id, created_by=created_by,
                       body_hash=body_hash, secrets=secrets, revealed=revealed, slack=slack,
                       mail=mail, **resolved)
        if body.task_id is None:  # a fresh uuid4 cannot collide: no need to watch
            with self.redis.pipeline() as pipe:
                pipe.multi()
                write_new(self.jobs, pipe, new)
                pipe.execute()
            return self._created(new), False

        def write(pipe: Pipeline) -> tuple[dict[str, Any], bool]:
            replay = replayed(pipe.get(keys.task_idempotency(new.task.ref)), body_hash)
            if replay is not None:
                return replay, True
            pipe.multi()
            write_new(self.jobs, pipe, new)
            pipe.execute()
            return new.response, False

        response, replay = atomic(self.redis, write, keys.task(new.task.ref))
        return (response, True) if replay else (self._created(new), False)

    async def acreate(self, aredis: AsyncRedis, body: TaskCreate,
                      **fields: Any) -> tuple[dict[str, Any], bool]:
        """`create` on the asyncio client: the same task, MULTI and RQ jobs, and the same
        replay of a retried `task_id` (WATCH on the asyncio client)."""
        if not self.jobs.primed:  # once per process: RQ's INFO goes through the sync client
            await asyncio.to_thread(self.jobs.prime)
        new = new_task(body, self.clock(), **fields)
        if body.task_id is None:
            async with aredis.pipeline() as pipe:
                pipe.multi()
                write_new(self.jobs, pipe, new)
                await pipe.execute()
            return await self._acreated(aredis, new), False

        async def write(pipe: AsyncPipeline) -> tuple[dict[str, Any], bool]:
            replay = replayed(await pipe.get(keys.task_idempotency(new.task.ref)),
                              new.body_hash)
            if replay is not None:
                return replay, True
            pipe.multi()
            write_new(self.jobs, pipe, new)
            await pipe.execute()
            return new.response, False

        response, replay = await aatomic(aredis, write, keys.task(new.task.ref))
        return (response, True) if replay else (await self._acreated(aredis, new), False)

    def _created(self, new: NewTask) -> dict[str, Any]:
        """After a creation's EXEC: count it, and acknowledge it only once the replicas
        hold it (INLOOP_REDIS_MIN_REPLICAS). The idempotency record is what is checked:
        it never changes, while the task may already be moving on."""
        metrics.TASKS_CREATED.inc()
        confirm_replicated(self.redis, keys.task_idempotency(new.task.ref), new.idem)
        return new.response

    async def _acreated(self, aredis: AsyncRedis, new: NewTask) -> dict[str, Any]:
        """`_created` on the asyncio client (the replica count is the blocking client's)."""
        metrics.TASKS_CREATED.inc()
        await aconfirm_replicated(aredis, self.redis, keys.task_idempotency(new.task.ref),
                                  new.idem)
        return new.response

    def replay(self, task_id: str, org_id: str, body_hash: str) -> dict[str, Any] | None:
        """The original 201 body of a retried create, None for a task_id new to the org,
        409 for one the org used with another body. The record is written in the task's
        own MULTI, so no record means no task. (Reading the task key as well raced with
        that MULTI: a concurrent retry got a false 409.)"""
        return replayed(self.redis.get(keys.task_idempotency(task_ref(org_id, task_id))),
                        body_hash)

    async def areplay(self, aredis: AsyncRedis, task_id: str, org_id: str,
                      body_hash: str) -> dict[str, Any] | None:
        """`replay` on the asyncio client."""
        return replayed(await aredis.get(keys.task_idempotency(task_ref(org_id, task_id))),
                        body_hash)

    # -- reads ------------------------------------------------------------------------

    def load(self, ref: str) -> Task:
        """The task stored under `ref` (for workers, the bot and links: internal references
        all carry refs). Expires it if overdue."""
        raw = self.redis.get(keys.task(ref)) if keys.is_uuid(ref) else None
        if raw is None:
            raise NotFound("task not found")
        return self.fresh(Task.read(raw))

    def fresh(self, task: Task) -> Task:
        """`task` as read, or as it is once expired if it is overdue: no reader sees an
        overdue task pending."""
        if not overdue(task, self.clock()):
            return task
        return self.expire(task.ref) or self.load(task.ref)

    def get(self, org_id: str, task_id: str) -> Task:
        """The org's task with this task_id; another org's task is simply not found."""
        key = _org_task_key(org_id, task_id)
        return self.fresh(_of_org(self.redis.get(key) if key else None, org_id))

    async def aget(self, aredis: AsyncRedis, org_id: str, task_id: str) -> Task:
        """`get` on the asyncio client, without a thread hop unless the task is overdue."""
        key = _org_task_key(org_id, task_id)
        task = _of_org(await aredis.get(key) if key else None, org_id)
        if overdue(task, self.clock()):
            return await asyncio.to_thread(self.fresh, task)
        return task

    def ended_refs(self) -> Iterator[str]:
        """The refs of every ended task, of every org (a scan: for maintenance only)."""
        for status in EVENT_TYPES:  # the ended statuses
            pattern = keys.org_index("*", "status", status)
            for key in self.redis.scan_iter(match=pattern, count=500):
                members: list[bytes] = self.redis.zrange(key, 0, -1)  # type: ignore[assignment]
                yield from (text(m) for m in members)

    def by_link(self, link_id: str) -> Task:
        ref = self.redis.get(keys.link(link_id)) if keys.is_uuid(link_id) else None
        if not isinstance(ref, bytes):
            raise NotFound("link not found")
        return self.load(ref.decode())

    def secrets(self, ref: str) -> list[str | None]:
        raw = self.redis.get(keys.task_secrets(ref))
        return json.loads(raw) if raw else []

    # -- transitions ------------------------------------------------------------------

    def complete(self, ref: str, data: dict[str, Any], by: CompletedBy) -> Task:
        def done(task: Task, now: datetime) -> None:
            if task.claimed_by is not None and task.claimed_by.id != by.id:
                raise Conflict(f"the task is claimed by {task.claimed_by.name}")
            task.status, task.data = "completed", data
            task.completed_at, task.completed_by = now, by

        return self._end(ref, done, "completed")

    def cancel(self, ref: str, reason: str | None, by: Actor | None = None) -> Task:
        def cancelled(task: Task, now: datetime) -> None:
            task.status, task.cancel_reason, task.cancelled_by = "cancelled", reason, by

        return self._end(ref, cancelled, "cancelled")

    def fail(self, ref: str, errors: list[TaskError]) -> Task:
        def failed(task: Task, now: datetime) -> None:
            task.status, task.errors = "failed", errors

        return self._end(ref, failed, "failed")

    def due_in(self, ref: str) -> float | None:
        """Seconds until a pending task's `expires_at` (negative once overdue); None for an
        ended task or one that never expires."""
        raw = self.redis.get(keys.task(ref))
        task = Task.read(raw) if raw is not None else None
        if task is None or not task.open or task.expires_at is None:
            return None
        return (task.expires_at - self.clock()).total_seconds()

    def expire(self, ref: str) -> Task | None:
        """Fail an overdue pending task; `None` if it is not overdue or already ended."""
        raw = self.redis.get(keys.task(ref))
        if raw is None or not overdue(Task.read(raw), self.clock()):
            return None
        try:
            if Task.read(raw).on_expiry is not None:
                return self._end(ref, default_on_expiry, "completed", late=True)
            return self.fail(ref, [TaskError(code="expired", message="the task expired "
                                                 "before anyone answered it")])
        except Conflict:
            return None

    def update(self, ref: str, change: Callable[[Task], None]) -> Task:
        """Apply a bookkeeping change (messages sent, delivery problems) in any status."""

        def write(pipe: Pipeline) -> Task:
            task = read(pipe, ref)
            change(task)
            self.bump(task)
            pipe.multi()
            pipe.set(keys.task(ref), task.model_dump_json())
            pipe.publish(keys.EVENTS_CHANNEL, ref)
            pipe.execute()
            return task

        return atomic(self.redis, write, keys.task(ref))

    def _end(self, ref: str, change: Callable[[Task, datetime], None], event: str, *,
             late: bool = False) -> Task:
        """End an open task; `late`: also once overdue (failing it, or the default answer)."""

        def write(pipe: Pipeline) -> Task:
            task = pending(pipe, ref)
            if not late and event != "failed" and overdue(task, self.clock()):
                raise Conflict("the task has expired")
            task.ended_at = self.bump(task)
            change(task, task.ended_at)
            task.claimed_by = None  # an ended task is nobody's to hold
            pipe.multi()
            self.write_end(pipe, task, event)
            pipe.execute()
            return task

        return self.ended(atomic(self.redis, write, keys.task(ref)))

    def write_end(self, pipe: Pipeline, task: Task, event: str) -> None:
        """Queue in `pipe`'s MULTI what every ending writes: the record, its status index,
        the history entry, the sink and Slack jobs and the waiters' wake-up."""
        ref = task.ref
        pipe.set(keys.task(ref), task.model_dump_json())
        self.move_status(pipe, task)
        pipe.delete(keys.task_draft(ref), keys.task_drafts(ref))
        note(pipe, ref, ending_entry(task, event))
        self._enqueue_event_jobs(pipe, task, event)
        pipe.publish(keys.EVENTS_CHANNEL, ref)

    def ended(self, task: Task) -> Task:
        """After an ending's EXEC: count it, and acknowledge it only once the replicas
        hold it (INLOOP_REDIS_MIN_REPLICAS)."""
        metrics.task_ended(task)
        confirm_replicated(self.redis, keys.task(task.ref), task.model_dump_json())
        return task

    def _enqueue_event_jobs(self, pipe: Pipeline, task: Task, event: str) -> None:
        """The event's sink jobs, its body pinned beside them (each delivery then reads it
        with the task: no round trip of its own to pin it), and the Slack update."""
        ref = task.ref
        sinks = [(index, sink) for index, sink in enumerate(task.sinks) if event in sink.events]
        if sinks:
            pipe.set(keys.task_event(ref, event), event_json(task, event), nx=True)
        for index, sink in sinks:
            self.jobs.enqueue(pipe, "sink." + sink.type, ref, event, index)
        if task.external_message_ids:
            self.jobs.enqueue(pipe, "slack.update", ref)

    def move_status(self, pipe: Pipeline, task: Task) -> None:
        for status in OPEN_STATUSES:
            pipe.zrem(keys.org_index(task.org_id, "status", status), task.ref)
        pipe.zadd(keys.org_index(task.org_id, "status", task.status),
                  {task.ref: score(task.created_at)})

    # -- helpers ----------------------------------------------------------------------

    def bump(self, task: Task) -> datetime:
        now = self.clock()
        task.version += 1
        task.updated_at = now
        return now


def _org_task_key(org_id: str, task_id: str) -> str | None:
    return keys.task(task_ref(org_id, task_id)) if keys.is_uuid(task_id) else None


def _of_org(raw: bytes | str | None, org_id: str) -> Task:
    task = Task.read(raw) if raw is not None else None
    if task is None or task.org_id != org_id:  # a ref names one org's task: tenancy
        raise NotFound("task not found")
    return task


def overdue(task: Task, now: datetime) -> bool:
    """The one expiry rule: an open task whose `expires_at` has come."""
    return task.open and task.expires_at is not None and task.expires_at <= now


def atomic(redis: Redis, write: Callable[[Pipeline], T], *watched: str) -> T:
    """Run `write` on a pipeline WATCHing `watched`, again whenever another writer wins."""
    for _ in range(100):
        with redis.pipeline() as pipe:
            pipe.watch(*watched)
            try:
                return write(pipe)
            except WatchError:
                continue
    raise Conflict("too much contention on this task; try again")


async def aatomic(aredis: AsyncRedis, write: Callable[[AsyncPipeline], Awaitable[T]],
                  *watched: str) -> T:
    """`atomic` on the asyncio client."""
    for _ in range(100):
        async with aredis.pipeline() as pipe:
            await pipe.watch(*watched)
            try:
                return await write(pipe)
            except WatchError:
                continue
    raise Conflict("too much contention on this task; try again")


def read(pipe: Redis | Pipeline, ref: str) -> Task:
    raw = pipe.get(keys.task(ref))
    if raw is None:
        raise NotFound("task not found")
    return Task.read(raw)


def pending(pipe: Pipeline, ref: str) -> Task:
    """The task, read inside a WATCH; Conflict once it has ended (it accepts nothing)."""
    task = read(pipe, ref)
    if not task.open:
        raise Conflict(f"the task is {task.status}")
    return task

