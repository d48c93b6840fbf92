"""Tasks in Redis: creation, reads, listing and atomic transitions.

Every change is WATCH -> read -> MULTI -> write (+ RQ jobs + PUBLISH) -> EXEC, retried on
a lost race, so a transition happens exactly once and its side effects (sink jobs, Slack
updates, waiter wake-ups) are committed with it or not at all.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from redis import Redis, WatchError
from redis.client import Pipeline

from api.domain.errors import Conflict, NotFound
from api.domain.task import CompletedBy, Task, TaskCreate, TaskCreated, TaskError, task_ref
from api.store import keys
from api.store.connection import confirm_replicated
from api.store.jobs import JobQueues, JobSpec, sink_job, slack_job
from api.store.listing import Entry, Filters, cursor_after, index_keys, query_page

Clock = Callable[[], datetime]
T = TypeVar("T")
EVENT_NAMESPACE = uuid.UUID("6f1f6c0e-3c55-4b8e-9d0a-1a4b8f3f1e11")


def utcnow() -> datetime:
    return datetime.now(UTC)


def event_id(ref: str, event: str) -> str:
    """Stable id of a task event: the same on every retry and redelivery (the task's ref,
    not its task_id, so two orgs' tasks never share one)."""
    return "evt_" + uuid.uuid5(EVENT_NAMESPACE, f"{ref}:{event}").hex


class TaskStore:
    def __init__(
        self,
        redis: Redis,
        queues: JobQueues,
        *,
        base_url: str,
        slack_enabled: bool = False,
        retry_schedules: dict[str, list[int]] | None = None,
        max_page_bytes: int = 2 * 1024 * 1024,
        clock: Clock = utcnow,
    ) -> None:
        self.redis = redis
        self.queues = queues
        self.base_url = base_url.rstrip("/")
        self.slack_enabled = slack_enabled
        self.retry_schedules = retry_schedules or {}
        self.max_page_bytes = max_page_bytes
        self.clock = clock

    # -- creation ---------------------------------------------------------------------

    def create(self, body: TaskCreate, *, org_id: str, created_by: str, body_hash: str,
               secrets: list[str | None], revealed: list[str | None],
               **resolved: Any) -> tuple[dict[str, Any], bool]:
        """Store a new task; `(201 body, replayed)`. Same `task_id` + same body replays
        (within the org: another org's task_id is another task).

        `secrets` sign the sinks' webhooks; `revealed` are the ones shown in the response
        (generated ones: an integrator's own secret is never echoed)."""
        task = self._new_task(body, org_id=org_id, created_by=created_by, **resolved)
        response = self._created_response(task, revealed)
        idem = {"hash": body_hash, "response": response}
        if body.task_id is None:  # a fresh uuid4 cannot collide: no need to watch
            with self.redis.pipeline() as pipe:
                pipe.multi()
                self._write_new(pipe, task, secrets, idem)
                pipe.execute()
            return response, False

        def write(pipe: Pipeline) -> tuple[dict[str, Any], bool]:
            replay = self._replay(pipe, task.ref, body_hash)
            if replay is not None:
                return replay, True
            pipe.multi()
            self._write_new(pipe, task, secrets, idem)
            pipe.execute()
            return response, False

        return self._atomic(write, keys.task(task.ref))

    def _new_task(self, body: TaskCreate, **fields: Any) -> Task:
        now = self.clock()
        request = body.model_dump()
        for sink in request["sinks"]:
            sink.pop("secret", None)  # secrets are kept apart from the readable task
        link_id = str(uuid.uuid4())
        expires = now + timedelta(seconds=body.expires_in) if body.expires_in else None
        return Task.model_validate({
            **request, **fields, "task_id": body.task_id or str(uuid.uuid4()),
            "link_id": link_id, "url": f"{self.base_url}/t/{link_id}", "created_at": now,
            "updated_at": now, "expires_at": expires,
        })

    @staticmethod
    def _created_response(task: Task, secrets: list[str | None]) -> dict[str, Any]:
        sinks = []
        for sink, secret in zip(task.sinks, secrets, strict=True):
            shown = sink.model_dump(exclude={"events", "secret"})
            if secret is not None:
                shown["secret"] = secret
            sinks.append(shown)
        created = TaskCreated(task_id=task.task_id, link_id=task.link_id, url=task.url,
                              requires_otp=task.requires_otp, sinks=sinks,
                              created_at=task.created_at)
        return created.model_dump(mode="json")

    def replay(self, task_id: str, org_id: str, body_hash: str) -> dict[str, Any] | None:
        """The original 201 body of a retried create, None for a task_id new to the org,
        409 for one the org used with another body."""
        return self._replay(self.redis, task_ref(org_id, task_id), body_hash)

    @staticmethod
    def _replay(client: Redis | Pipeline, ref: str, body_hash: str) -> dict[str, Any] | None:
        # Written in the task's own MULTI, so no record means no task. (Reading the task
        # key as well raced with that MULTI: a concurrent retry got a false 409.)
        raw = client.get(keys.task_idempotency(ref))
        if raw is None:
            return None
        record = json.loads(raw)
        if record.get("hash") != body_hash:
            raise Conflict("task_id is already in use with a different body")
        response: dict[str, Any] = record["response"]
        return response

    def _write_new(self, pipe: Pipeline, task: Task, secrets: list[str | None],
                   idem: dict[str, Any]) -> None:
        ref = task.ref
        pipe.set(keys.task(ref), task.model_dump_json())
        pipe.set(keys.task_secrets(ref), json.dumps(secrets))
        pipe.set(keys.task_idempotency(ref), json.dumps(idem))
        pipe.set(keys.link(task.link_id), ref)
        score = _score(task.created_at)
        pipe.zadd(keys.org_tasks(task.org_id), {ref: score})
        for key in index_keys(task):
            pipe.zadd(key, {ref: score})
        if task.expires_at is not None:
            spec = JobSpec("expiry", "workers.expiry.expire", (ref,), f"expire:{ref}")
            self.queues.enqueue(pipe, spec, at=task.expires_at)
        if self.slack_enabled and (task.assignee_email or task.slack_channel):
            self.queues.enqueue(pipe, slack_job("deliver", ref, self.retry_schedules))
        pipe.publish(keys.EVENTS_CHANNEL, ref)

    # -- reads ------------------------------------------------------------------------

    def load(self, ref: str) -> Task:
        """The task stored under `ref` (for workers, the bot and links: internal references
        all carry refs). Expires it if overdue."""
        raw = self.redis.get(keys.task(ref)) if keys.is_uuid(ref) else None
        if raw is None:
            raise NotFound("task not found")
        task = Task.model_validate_json(raw)
        if self._overdue(task):
            return self.expire(ref) or self.load(ref)
        return task

    def get(self, org_id: str, task_id: str) -> Task:
        """The org's task with this task_id; another org's task is simply not found."""
        if not keys.is_uuid(task_id):
            raise NotFound("task not found")
        task = self.load(task_ref(org_id, task_id))
        if task.org_id != org_id:  # a ref names one org's task; tenancy hinges on it
            raise NotFound("task not found")
        return task

    def by_link(self, link_id: str) -> Task:
        ref = self.redis.get(keys.link(link_id)) if keys.is_uuid(link_id) else None
        if not isinstance(ref, bytes):
            raise NotFound("link not found")
        return self.load(ref.decode())

    def secrets(self, ref: str) -> list[str | None]:
        raw = self.redis.get(keys.task_secrets(ref))
        return json.loads(raw) if raw else []

    def list(self, org_id: str, filters: Filters, *, limit: int = 50,
             cursor: str | None = None) -> tuple[list[Task], str | None]:
        """Newest first, with an opaque cursor for the next page. A page ends early once
        its tasks hold `max_page_bytes` (but always holds one), so large tasks are never
        all read into memory at once."""
        entries, more = query_page(self.redis, org_id, filters, limit=limit, cursor=cursor)
        kept = self._fitting(entries)
        more, entries = more or kept < len(entries), entries[:kept]
        raws = self.redis.mget([keys.task(i) for i, _ in entries]) if entries else []
        tasks = [Task.model_validate_json(r) for r in raws if r is not None]
        # Overdue tasks expire as they are listed, like any read: nobody sees them pending.
        tasks = [self.load(t.ref) if self._overdue(t) else t for t in tasks]
        next_cursor = cursor_after(entries[-1]) if more and entries else None
        return [t for t in tasks if filters.status in (None, t.status)], next_cursor

    def _fitting(self, entries: builtins.list[Entry]) -> int:
        """How many of `entries` (at least one) fit in `max_page_bytes`, by stored size."""
        pipe = self.redis.pipeline(transaction=False)
        for ref, _ in entries:
            pipe.strlen(keys.task(ref))
        total = 0
        for kept, size in enumerate(pipe.execute()):
            total += size
            if total > self.max_page_bytes:
                return max(kept, 1)
        return len(entries)

    # -- files ------------------------------------------------------------------------

    def claim_file(self, ref: str, sha256: str, limit: int = 50) -> bool:
        """Record that `sha256` was uploaded for this task (storage is shared by content).
        False, recording nothing, once the task holds `limit` other files: every upload
        of every step POST is claimed (valid step or not), so this bounds one link.
        Conflict once the task has ended: it accepts nothing, files included."""
        key = keys.task_files(ref)

        def write(pipe: Pipeline) -> bool:
            self._pending(pipe, ref)
            if not pipe.sismember(key, sha256) and pipe.scard(key) >= limit:
                return False
            pipe.multi()
            pipe.sadd(key, sha256)
            pipe.execute()
            return True

        return self._atomic(write, keys.task(ref), key)

    def owns_file(self, ref: str, sha256: str) -> bool:
        return bool(self.redis.sismember(keys.task_files(ref), sha256))

    # -- drafts -----------------------------------------------------------------------

    def load_draft(self, ref: str) -> dict[str, Any]:
        raw = self.redis.get(keys.task_draft(ref))
        return json.loads(raw) if raw else {}

    def save_draft(self, ref: str, answers: dict[str, Any]) -> dict[str, Any]:
        """Merge `answers` into the draft of a pending task; returns the whole draft."""

        def write(pipe: Pipeline) -> dict[str, Any]:
            self._pending(pipe, ref)
            raw = pipe.get(keys.task_draft(ref))
            draft = {**(json.loads(raw) if raw else {}), **answers}
            pipe.multi()
            pipe.set(keys.task_draft(ref), json.dumps(draft))
            pipe.execute()
            return draft

        return self._atomic(write, keys.task(ref), keys.task_draft(ref))

    # -- transitions ------------------------------------------------------------------

    def complete(self, ref: str, data: dict[str, Any], by: CompletedBy) -> Task:
        def done(task: Task, now: datetime) -> None:
            task.status, task.data = "completed", data
            task.completed_at, task.completed_by = now, by

        return self._end(ref, done, "completed")

    def cancel(self, ref: str, reason: str | None) -> Task:
        def cancelled(task: Task, now: datetime) -> None:
            task.status, task.cancel_reason = "cancelled", reason

        return self._end(ref, cancelled, "cancelled")

    def fail(self, ref: str, errors: builtins.list[TaskError]) -> Task:
        def failed(task: Task, now: datetime) -> None:
            task.status, task.errors = "failed", errors

        return self._end(ref, failed, "failed")

    def due_in(self, ref: str) -> float | None:
        """Seconds until a pending task's `expires_at` (negative once overdue); None for an
        ended task or one that never expires."""
        raw = self.redis.get(keys.task(ref))
        task = Task.model_validate_json(raw) if raw is not None else None
        if task is None or task.status != "pending" or task.expires_at is None:
            return None
        return (task.expires_at - self.clock()).total_seconds()

    def expire(self, ref: str) -> Task | None:
        """Fail an overdue pending task; `None` if it is not overdue or already ended."""
        raw = self.redis.get(keys.task(ref))
        if raw is None or not self._overdue(Task.model_validate_json(raw)):
            return None
        try:
            task = self.fail(ref, [TaskError(code="expired", message="the task expired "
                                                 "before anyone answered it")])
        except Conflict:
            return None
        return task

    def update(self, ref: str, change: Callable[[Task], None]) -> Task:
        """Apply a bookkeeping change (messages sent, delivery problems) in any status."""

        def write(pipe: Pipeline) -> Task:
            task = self._read(pipe, ref)
            change(task)
            self._bump(task)
            pipe.multi()
            pipe.set(keys.task(ref), task.model_dump_json())
            pipe.publish(keys.EVENTS_CHANNEL, ref)
            pipe.execute()
            return task

        return self._atomic(write, keys.task(ref))

    def _end(self, ref: str, change: Callable[[Task, datetime], None], event: str) -> Task:

        def write(pipe: Pipeline) -> Task:
            task = self._pending(pipe, ref)
            if event != "failed" and self._overdue(task):
                raise Conflict("the task has expired")
            task.ended_at = self._bump(task)
            change(task, task.ended_at)
            pipe.multi()
            pipe.set(keys.task(ref), task.model_dump_json())
            self._move_status(pipe, task)
            pipe.delete(keys.task_draft(ref))
            self._enqueue_event_jobs(pipe, task, event)
            pipe.publish(keys.EVENTS_CHANNEL, ref)
            pipe.execute()
            return task

        ended = self._atomic(write, keys.task(ref))
        # Acknowledged only once the replicas hold it (INLOOP_REDIS_MIN_REPLICAS).
        confirm_replicated(self.redis, keys.task(ref), ended.model_dump_json())
        return ended

    def _enqueue_event_jobs(self, pipe: Pipeline, task: Task, event: str) -> None:
        ref = task.ref
        for index, sink in enumerate(task.sinks):
            if event in sink.events:
                spec = sink_job(ref, event, index, sink.type, self.retry_schedules)
                self.queues.enqueue(pipe, spec)
        if task.external_message_ids:
            self.queues.enqueue(pipe, slack_job("update_messages", ref,
                                                self.retry_schedules))

    def _move_status(self, pipe: Pipeline, task: Task) -> None:
        pipe.zrem(keys.org_index(task.org_id, "status", "pending"), task.ref)
        pipe.zadd(keys.org_index(task.org_id, "status", task.status),
                  {task.ref: _score(task.created_at)})

    # -- helpers ----------------------------------------------------------------------

    def _atomic(self, write: Callable[[Pipeline], T], *watched: str) -> T:
        """Run `write` on a pipeline WATCHing `watched`, again whenever another writer wins."""
        for _ in range(100):
            with self.redis.pipeline() as pipe:
                pipe.watch(*watched)
                try:
                    return write(pipe)
                except WatchError:
                    continue
        raise Conflict("too much contention on this task; try again")

    def _read(self, pipe: Pipeline, ref: str) -> Task:
        raw = pipe.get(keys.task(ref))
        if raw is None:
            raise NotFound("task not found")
        return Task.model_validate_json(raw)

    def _pending(self, pipe: Pipeline, ref: str) -> Task:
        task = self._read(pipe, ref)
        if task.status != "pending":
            raise Conflict(f"the task is {task.status}")
        return task

    def _bump(self, task: Task) -> datetime:
        now = self.clock()
        task.version += 1
        task.updated_at = now
        return now

    def _overdue(self, task: Task) -> bool:
        return (task.status == "pending" and task.expires_at is not None
                and task.expires_at <= self.clock())


def _score(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)
