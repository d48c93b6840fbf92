"""RQ job enqueueing inside the store's transactions.

The store names jobs by dotted path so it never imports `workers/`. Every job has a
deterministic id, so a transition that happens once enqueues once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

QUEUE_NAMES = ("expiry", "slack", "webhook", "nats", "email")
SINK_QUEUES = {"webhook": "webhook", "nats": "nats", "email": "email"}
SLACK_JOBS = {"deliver": "slack-deliver", "update_messages": "slack-update"}


def rq_job_id(job_id: str) -> str:
    """`job_id` as RQ accepts it (letters, digits, `_`, `-`): `slack-deliver:x` -> `..._x`."""
    return job_id.replace(":", "_")


@dataclass(frozen=True)
class JobSpec:
    queue: str
    func: str
    args: tuple[Any, ...]
    job_id: str
    retry_intervals: Sequence[int] = ()
    on_failure: str | None = None  # dotted path of an RQ failure callback


class JobQueues:
    """One RQ queue per kind of work, all with the JSON serializer."""

    def __init__(self, redis: Redis,
                 retry_schedules: Mapping[str, Sequence[int]] | None = None) -> None:
        self.retry_schedules = retry_schedules or {}
        self._queues = {
            name: Queue(name, connection=redis, serializer=JSONSerializer) for name in QUEUE_NAMES
        }

    def __getitem__(self, name: str) -> Queue:
        return self._queues[name]

    def all(self) -> list[Queue]:
        return list(self._queues.values())

    def enqueue(self, pipe: Pipeline, spec: JobSpec, at: datetime | None = None) -> None:
        """Add `spec` to `pipe`'s MULTI; runs at `at` (needs a worker with scheduler)."""
        options: dict[str, Any] = {"job_id": rq_job_id(spec.job_id)}
        if spec.retry_intervals:
            options["retry"] = Retry(
                max=len(spec.retry_intervals), interval=list(spec.retry_intervals)
            )
        if spec.on_failure:
            options["on_failure"] = Callback(spec.on_failure)
        queue = self._queues[spec.queue]
        if at is None:
            queue.enqueue(spec.func, *spec.args, pipeline=pipe, **options)
        else:
            self._schedule(pipe, queue, queue.create_job(
                spec.func, args=spec.args, status=JobStatus.SCHEDULED, **options), at)

    @staticmethod
    def _schedule(pipe: Pipeline, queue: Queue, job: Job, at: datetime) -> None:
        """What `Queue.enqueue_at` does, but all inside `pipe` (RQ's registry write skips
        the pipeline) and at the second after `at`: RQ truncates the time to whole
        seconds, so a job due at 12.7 s would otherwise run at 12 s, before it is due."""
        pipe.sadd(queue.redis_queues_keys, queue.key)
        job.set_status(JobStatus.SCHEDULED, pipeline=pipe)
        job.save(pipeline=pipe)
        pipe.zadd(queue.scheduled_job_registry.key, {job.id: math.ceil(at.timestamp())})


def sink_job_id(ref: str, event: str, index: int) -> str:
    """The job id of the delivery of `event` to the task's sink number `index`."""
    return f"sink:{ref}:{event}:{index}"


def slack_job(work: str, ref: str,
              retry_schedules: Mapping[str, Sequence[int]]) -> JobSpec:
    """A Slack job (`work` among SLACK_JOBS); its failure callback records on the task why
    RQ gave up on it (a delivery problem)."""
    return JobSpec("slack", f"workers.slack.{work}", (ref,),
                   f"{SLACK_JOBS[work]}:{ref}", retry_schedules.get("slack", ()),
                   on_failure="workers.slack.on_failure")


def sink_job(ref: str, event: str, index: int, kind: str,
             retry_schedules: Mapping[str, Sequence[int]]) -> JobSpec:
    """The sink job, the same at the transition, on a retry and on reconcile.

    RQ calls `on_failure` also for a job whose work horse died (AbandonedJobError), which
    the job itself cannot record."""
    return JobSpec(SINK_QUEUES[kind], "workers.sinks.deliver.deliver", (ref, event, index),
                   sink_job_id(ref, event, index), retry_schedules.get(kind, ()),
                   on_failure="workers.sinks.deliver.on_failure")
