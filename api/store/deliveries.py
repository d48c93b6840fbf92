"""Delivery records of sink events: one per (task event, sink), with its attempts.

A delivery id is a hash of the RQ job id (`sink:{ref}:{event}:{index}`), so the job, its
record and the API agree without a lookup table. A delivery without a record is `queued`;
then `retrying`, `delivered` or `gave_up` (listed in `deliveries:gave-up` until retried).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from redis.client import Pipeline
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from api.domain.errors import Conflict, NotFound
from api.domain.events import (
    EVENT_TYPES,
    Attempt,
    event_id,
    event_json,
    event_kind,
    responded_event,
)
from api.domain.task import Task
from api.store import keys
from api.store.codec import text, text_hash
from api.store.jobs import rq_job_id, sink_job_id
from api.store.tasks import TaskStore

MAX_ATTEMPTS_KEPT = 50
SETTLED = ("delivered", "gave_up")
UNSETTLED = ("queued", "retrying")
HIDDEN = ("attempts", "tries", "outcomes", "task_ref")  # counters, the internal task ref


# Append an attempt (ARGV[2]: its JSON, without its number) to a delivery (KEYS: its hash,
# its attempts list, the gave-up set). Unless the status was written since the attempt
# began (the hash's `outcomes` count is no longer ARGV[1]; '' for any) and it did not
# deliver, also count its try and the outcome, set the hash's fields (ARGV[7..], pairs,
# the status ARGV[5] among them) and file the delivery in the gave-up set (ARGV[6]: its
# score) or out of it.
RECORD = """
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
redis.call('RPUSH', KEYS[2], '{"attempt":' .. (attempts + 1) .. ',' .. string.sub(ARGV[2], 2))
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local outcomes = tonumber(redis.call('HGET', KEYS[1], 'outcomes') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= outcomes and ARGV[5] ~= 'delivered' then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'tries', 1)
redis.call('HINCRBY', KEYS[1], 'outcomes', 1)
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
if ARGV[5] == 'gave_up' then
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4])
else
  redis.call('ZREM', KEYS[3], ARGV[4])
end
return 1
"""


DELIVERY_ID = re.compile(r"^dlv_[0-9a-f]{32}$")


def delivery_id(ref: str, event: str, index: int) -> str:
    digest = hashlib.sha256(sink_job_id(ref, event, index).encode()).hexdigest()
    return "dlv_" + digest[:32]


def events_of(task: Task) -> list[str]:
    """The task's events so far: one per response of a multi-response task, its end."""
    responded = ([responded_event(n) for n in range(1, len(task.responses) + 1)]
                 if task.multi_response else [])
    return responded + ([task.status] if task.status in EVENT_TYPES else [])
@dataclass(frozen=True)
class Pending:
    """What one delivery attempt starts from, read in one round trip (see
    `DeliveryLog.pending`)."""

    task: Task
    event: str
    index: int
    status: str  # the delivery's, `queued` before its first attempt
    tries: int  # attempts since it was (re)queued
    outcomes: int  # status writes so far: the attempt's record checks none came after it
    body: bytes  # the pinned event body
    secret: str | None = field(repr=False)  # the sink's stored secret (webhooks only)


def _delete_job(job: Job, pipe: Pipeline) -> None:
    """`Job.delete` in `pipe`. RQ reads the job's executions first and raises for one whose
    record is gone (a worker killed mid-job leaves such an entry); the job's keys and its
    execution list are then removed directly."""
    try:
        job.delete(pipeline=pipe)
    except ValueError:
        pipe.delete(job.key, job.dependents_key, job.dependencies_key,
                    job.execution_registry.key)


class DeliveryLog:
    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.redis = store.redis
        self._record = self.redis.register_script(RECORD)

    def body(self, task: Task, event: str, pinned: bytes | None = None) -> bytes:
        """The event body, pinned by the first call so every retry and sink sends the same
        (`pinned`: the stored body when the caller has read it already). An ending pins
        its event's body in its own MULTI (`TaskStore.write_end`); a team's responses are
        pinned here, on their first delivery."""
        if pinned is not None:
            return pinned
        fresh = event_json(task, event)
        # SET NX GET: the body another call pinned first, or None once ours is stored.
        earlier = self.redis.set(keys.task_event(task.ref, event), fresh, nx=True, get=True)
        return text(cast(bytes | None, earlier) or fresh).encode()

    def pending(self, ref: str, event: str, index: int) -> Pending:
        """The task, its delivery's state, pinned body and sink secret in one round trip
        (a second one pins the body on the first attempt); NotFound without the task."""
        if not keys.is_uuid(ref):
            raise NotFound("task not found")
        did = delivery_id(ref, event, index)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.task(ref))
            pipe.get(keys.task_secrets(ref))
            pipe.hmget(keys.delivery(did), "status", "tries", "outcomes")
            pipe.get(keys.task_event(ref, event))
            raw, secrets, (status, tries, outcomes), pinned = pipe.execute()
        if raw is None:
            raise NotFound("task not found")
        task = self.store.fresh(Task.read(raw))
        stored = json.loads(secrets) if secrets else []
        return Pending(task, event, index, text(status) if status else "queued",
                       int(tries or 0), int(outcomes or 0), self.body(task, event, pinned),
                       stored[index] if index < len(stored) else None)

    def status(self, did: str) -> str:
        raw = self.redis.hget(keys.delivery(did), "status")
        return text(raw) if raw else "queued"

    def record(self, task: Task, event: str, index: int, attempt: Attempt, status: str,
               began: int | None = None) -> bool:
        """Append `attempt` to the delivery's attempts and set its status, atomically.

        `began`: the delivery's outcomes count when the attempt began (`Pending.outcomes`;
        None: write whatever came before). If the status was written since (another run
        of the same delivery recorded: a job past its timeout retried as abandoned while
        its thread still waited on the receiver; or an operator's retry), the attempt is
        still listed, but its status is written only if it delivered: a late failure never
        overwrites what came after it. Returns whether the status was written."""
        did = delivery_id(task.ref, event, index)
        now = self.store.clock()
        row = json.dumps({"at": now.isoformat(), **asdict(attempt)})
        meta = self._meta(task, event, index, status, now)
        written = self._record(
            keys=[keys.delivery(did), keys.delivery_attempts(did), keys.DELIVERIES_GAVE_UP],
            args=["" if began is None else began, row, MAX_ATTEMPTS_KEPT, did, status,
                  now.timestamp(), *(part for pair in meta.items() for part in pair)])
        return bool(written)

    @staticmethod
    def _meta(task: Task, event: str, index: int, status: str, now: Any) -> dict[Any, Any]:
        sink = task.sinks[index]
        return {"task_id": task.task_id, "task_ref": task.ref, "org_id": task.org_id,
                "event": event, "sink_index": index, "sink_type": sink.type,
                "target": sink.target, "event_id": event_id(task.ref, event),
                "status": status, "updated_at": now.isoformat()}

    # -- reads ------------------------------------------------------------------------

    def for_task(self, task: Task) -> list[dict[str, Any]]:
        """Every delivery the task's responses and end call for, recorded or queued."""
        return [self.view(task, event, index, sink) for event in events_of(task)
                for index, sink in enumerate(task.sinks) if event_kind(event) in sink.events]

    def view(self, task: Task, event: str, index: int, sink: Any) -> dict[str, Any]:
        did = delivery_id(task.ref, event, index)
        record, attempts = self._load(did)
        return {"id": did, "task_id": task.task_id, "event": event,
                "event_id": event_id(task.ref, event), "sink_index": index,
                "sink_type": sink.type, "target": sink.target,
                "status": record.get("status", "queued"),
                "attempt_count": int(record.get("attempts", 0)), "attempts": attempts}

    def _load(self, did: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.delivery(did))
            pipe.lrange(keys.delivery_attempts(did), 0, -1)
            raw, attempts = pipe.execute()
        return text_hash(raw), [json.loads(a) for a in attempts]

    def get(self, did: str, org_id: str | None = None) -> dict[str, Any]:
        """A recorded delivery (of `org_id`'s task when given), with its attempts."""
        if not DELIVERY_ID.match(did):
            raise NotFound("delivery not found")
        record, attempts = self._load(did)
        if not record or (org_id is not None and record["org_id"] != org_id):
            raise NotFound("delivery not found")
        shown = {k: v for k, v in record.items() if k not in HIDDEN}
        return {"id": did, **shown, "sink_index": int(record["sink_index"]),
                "attempt_count": int(record.get("attempts", 0)), "attempts": attempts}

    def gave_up(self, limit: int = 100) -> list[dict[str, Any]]:
        """Deliveries that gave up, most recent first."""
        ids = self.redis.zrevrange(keys.DELIVERIES_GAVE_UP, 0, limit - 1)
        return [self.get(text(did)) for did in cast(list[bytes], ids)]

    # -- redelivery -------------------------------------------------------------------

    def retry(self, did: str, org_id: str | None = None) -> dict[str, Any]:
        """Queue a delivery that gave up again, with a fresh retry budget."""
        if not DELIVERY_ID.match(did):
            raise NotFound("delivery not found")

        def write(pipe: Pipeline) -> None:
            record = text_hash(pipe.hgetall(keys.delivery(did)))
            if not record or (org_id is not None and record["org_id"] != org_id):
                raise NotFound("delivery not found")
            if record["status"] != "gave_up":
                raise Conflict(f"the delivery is {record['status']}, not gave_up")
            self._requeue(pipe, did, record)

        self.redis.transaction(write, keys.delivery(did))
        return self.get(did)

    def _requeue(self, pipe: Pipeline, did: str, record: dict[str, str]) -> None:
        ref, event, index = record["task_ref"], record["event"], int(record["sink_index"])
        job_id = sink_job_id(ref, event, index)
        old = self._job(rq_job_id(job_id))
        pipe.multi()
        if old is not None:
            _delete_job(old, pipe)  # a fresh job, not the exhausted one's counters
        pipe.hset(keys.delivery(did), mapping={"status": "queued", "tries": 0})
        pipe.zrem(keys.DELIVERIES_GAVE_UP, did)
        self.store.jobs.enqueue(pipe, "sink." + record["sink_type"], ref, event, index)
        pipe.execute()

    def _job(self, job_id: str) -> Job | None:
        try:
            return Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
        except NoSuchJobError:
            return None

    # -- reconcile --------------------------------------------------------------------

    def stranded(self, task: Task) -> Iterator[tuple[int, str | None]]:
        """Deliveries of an ended task that no job will settle: `(sink index, None)` when
        the job is gone (Redis lost it, or the scheduled retry), `(sink index, why)` when
        RQ gave up on it without the job recording so (a worker killed on the last
        try of a job enqueued without the failure callback)."""
        event = task.status
        for index, sink in enumerate(task.sinks):
            if event not in sink.events or \
                    self.status(delivery_id(task.ref, event, index)) not in UNSETTLED:
                continue
            job = self._job(rq_job_id(sink_job_id(task.ref, event, index)))
            if job is None:
                yield index, None
            elif job.is_failed:
                yield index, f"RQ gave up on the job: {_last_line(job)}"

    def requeue(self, task: Task, index: int) -> None:
        """Enqueue the sink job of a delivery again (its record stays as it is)."""
        with self.redis.pipeline() as pipe:
            pipe.multi()
            self.store.jobs.enqueue(pipe, "sink." + task.sinks[index].type, task.ref,
                                    task.status, index)
            pipe.execute()


def _last_line(job: Job) -> str:
    result = job.latest_result()
    lines = ((result and result.exc_string) or "").strip().splitlines()
    return lines[-1][:300] if lines else "unknown"
