"""What a creation is made of, apart from how it reaches Redis: the new task, its 201 body
and idempotency record, and the writes of its MULTI. `TaskStore.create` (the blocking
client: CLI, workers, tests) and `TaskStore.acreate` (the asyncio client: the REST API)
both build and write a task through these, so the two paths store the same task and
enqueue the same RQ jobs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api.domain.approval import HistoryEntry
from api.domain.errors import Conflict
from api.domain.ids import random_uuid
from api.domain.limits import RECORD
from api.domain.task import Sink, Task, TaskCreate, TaskCreated, WebhookSink
from api.store import keys, timers
from api.store.jobs import AnyPipeline, Jobs
from api.store.listing import index_keys, score
from api.store.trail import note


@dataclass(frozen=True)
class NewTask:
    """A task about to be written, with everything its MULTI and its 201 need."""

    task: Task
    response: dict[str, Any]  # the 201 body
    body_hash: str
    idem: str  # the idempotency record: the hash and the 201 body, serialized once
    secrets: list[str | None]
    slack: bool
    mail: Sequence[str]


def new_task(body: TaskCreate, now: datetime, *, org_id: str, created_by: str,
             body_hash: str, secrets: list[str | None], revealed: list[str | None],
             slack: bool = False, mail: Sequence[str] = (), **resolved: Any) -> NewTask:
    """See `TaskStore.create` for the arguments."""
    task = _task(body, now, org_id=org_id, created_by=created_by, **resolved)
    response = _created_response(task, revealed)
    idem = json.dumps({"hash": body_hash, "response": response})
    return NewTask(task, response, body_hash, idem, secrets, slack, mail)


def _task(body: TaskCreate, now: datetime, **fields: Any) -> Task:
    # The request's own validated parts, as they are: pydantic takes a model instance of
    # the field's class without validating it again (a dump and a full validation cost a
    # create a tenth of its time). `assignees` are stored resolved (`fields`).
    request = dict(body.__dict__)  # its fields (iterating the model costs a create 3%)
    del request["assignees"]
    request["sinks"] = [_without_secret(sink) for sink in body.sinks]
    expires = now + timedelta(seconds=body.expires_in) if body.expires_in else None
    # Read as a record: the request's limits were checked on `body` already, and the
    # fields the service resolved come from the directory, not from the caller.
    return Task.model_validate({
        **request, **fields, "task_id": body.task_id or random_uuid(),
        "created_at": now, "updated_at": now, "expires_at": expires,
    }, context=RECORD)


def _without_secret(sink: Sink) -> Sink:
    """Secrets are kept apart from the readable task."""
    if isinstance(sink, WebhookSink) and sink.secret is not None:
        return sink.model_copy(update={"secret": None})
    return sink


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


def replayed(record: bytes | str | None, body_hash: str) -> dict[str, Any] | None:
    """The original 201 body from a task's idempotency record; None without one (no such
    task), 409 when the org used the task_id with another body."""
    if record is None:
        return None
    stored = json.loads(record)
    if stored.get("hash") != body_hash:
        raise Conflict("task_id is already in use with a different body")
    response: dict[str, Any] = stored["response"]
    return response


def write_new(jobs: Jobs, pipe: AnyPipeline, new: NewTask) -> None:
    """Queue in `pipe`'s MULTI everything a creation writes: the task, its secrets and
    idempotency record, its link and indexes, its jobs, its first history entry and the
    waiters' wake-up."""
    task, ref = new.task, new.task.ref
    pipe.mset({keys.task(ref): task.model_dump_json(),  # one command: each costs its own
               keys.task_secrets(ref): json.dumps(new.secrets),  # client-side parsing
               keys.task_idempotency(ref): new.idem, keys.link(task.link_id): ref})
    created = score(task.created_at)
    pipe.zadd(keys.org_tasks(task.org_id), {ref: created})
    for key in index_keys(task):
        pipe.zadd(key, {ref: created})
    if task.expires_at is not None:
        jobs.enqueue(pipe, "task.expire", ref, at=task.expires_at)
    if new.slack:
        jobs.enqueue(pipe, "slack.deliver", ref)
    timers.on_create(jobs, pipe, task, new.mail)
    note(pipe, ref, HistoryEntry(at=task.created_at, kind="created",
                                 detail={"created_by": task.created_by}))
    pipe.publish(keys.EVENTS_CHANNEL, ref)

