"""The job catalogue: every RQ job inloop runs, declared once, and the enqueuer.

Everyone enqueues by catalogue name (the store, email codes, reconcile, tests); a job's
dotted path (which RQ imports in the worker), queue, id, retry schedule and timeout are
spelled here only, so the store never imports `workers/`. A job with an id template has
a deterministic id, so a transition that happens once enqueues once. The retry policy
(RQ's retries at enqueue, and the delay of a job that retries itself) is `RetryPolicy`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, cast

from redis import Redis
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.client import Pipeline
from rq import Callback, Queue, Repeat, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from api.settings import Settings

# A MULTI being built, on the blocking or the asyncio client: the two buffer commands alike
# (an asyncio pipeline's command methods are synchronous and return the pipeline), and RQ
# only buffers into the pipeline it is given once `Jobs.prime` has run.
AnyPipeline = Pipeline | AsyncPipeline
SINK_PATH = "workers.sinks.deliver.deliver"  # every sink.* job: one job, three queues
_SINK_FAILED = "workers.sinks.deliver.on_failure"
_SLACK_FAILED = "workers.slack.on_failure"
_SINK_ID = "sink:{0}:{1}:{2}"  # task ref, event, sink index


@dataclass(frozen=True)
class JobDef:
    path: str  # the dotted path RQ imports: the one place it is spelled
    queue: str
    id: str | None = None  # id template over the job's args; None: RQ draws one
    retry: str | None = None  # schedule: "webhook" or "sink" (RetryPolicy.SCHEDULES)
    paced: bool = True  # a retry waits at least its schedule's delay, even after a 429
    timeout_s: int = 180  # RQ's job_timeout (RQ's default, declared)
    on_failure: str | None = None  # RQ failure callback: records why RQ gave up
    result_ttl: int | None = None
    describe: str | None = None  # description template (hides the args in RQ's logs)
    every_s: int | None = None  # a periodic job: runs again this long after each run


JOBS: dict[str, JobDef] = {
    "task.expire": JobDef("workers.expiry.expire", "expiry", "expire:{0}"),
    # Slack's 429s wait Slack's Retry-After exactly; the schedule counts the tries.
    "slack.deliver": JobDef("workers.slack.deliver", "slack", "slack-deliver:{0}",
                            retry="sink", paced=False, on_failure=_SLACK_FAILED),
    "slack.update": JobDef("workers.slack.update_messages", "slack", "slack-update:{0}",
                           retry="sink", paced=False, on_failure=_SLACK_FAILED),
    # An org's Slack installation went (uninstall, revoked token, Disconnect): its open
    # Slack tasks record a delivery problem (workers.slack_disconnected).
    "slack.disconnected": JobDef("workers.slack_disconnected.run", "slack", timeout_s=3600),
    # RQ calls on_failure also for a job whose worker died (AbandonedJobError),
    # which the job itself cannot record.
    "sink.webhook": JobDef(SINK_PATH, "webhook", _SINK_ID, retry="webhook",
                           on_failure=_SINK_FAILED),
    "sink.nats": JobDef(SINK_PATH, "nats", _SINK_ID, retry="sink", on_failure=_SINK_FAILED),
    "sink.email": JobDef(SINK_PATH, "email", _SINK_ID, retry="sink", on_failure=_SINK_FAILED),
    # Teams of approvers: timers (no-ops once the task ended or moved on), notifications.
    "task.remind": JobDef("workers.timers.remind", "expiry", "remind:{0}:{1}"),  # ref, n
    "task.escalate": JobDef("workers.timers.escalate", "expiry", "escalate:{0}"),
    "task.release": JobDef("workers.timers.release", "expiry", "release:{0}:{1}"),  # ref, µs
    # args (ref, kind, detail): a reminder, escalation or reassignment told in Slack.
    "slack.notify": JobDef("workers.slack_notify.notify", "slack", retry="sink", paced=False),
    "email.task_link": JobDef("workers.timers.mail_link", "email", retry="sink",
                              result_ttl=0, describe="task link ({kind})"),
    "email.send_code": JobDef("workers.email_codes.send_code", "email", result_ttl=0,
                              describe="one-time code ({purpose})"),
    # Periodic: every `inloop worker` makes sure it is scheduled (Jobs.ensure_periodic).
    "tasks.retention": JobDef("workers.retention.run", "maintenance", "retention",
                              timeout_s=3600, every_s=3600, result_ttl=86400),
}
PERIODIC_REPEATS = 1_000_000  # RQ's Repeat counts its runs; this outlasts any deployment
QUEUE_NAMES = tuple(dict.fromkeys(job.queue for job in JOBS.values()))


def rq_job_id(job_id: str) -> str:
    """`job_id` as RQ accepts it (letters, digits, `_`, `-`): `slack-deliver:x` -> `..._x`."""
    return job_id.replace(":", "_")


def sink_job_id(ref: str, event: str, index: int) -> str:
    """The job id of the delivery of `event` to the task's sink number `index`."""
    return _SINK_ID.format(ref, event, index)


def jittered(seconds: int, jitter: float) -> int:
    """`seconds` give or take `jitter` (a fraction), at least 1 s."""
    factor = random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - spreading, not secrecy
    return max(1, round(seconds * factor))


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed job runs again. The settings are read at each decision, not copied:
    the process's one Settings object stays the only source."""

    settings: Settings
    SCHEDULES: ClassVar[dict[str, str]] = {"webhook": "webhook_retry_schedule",
                                           "sink": "sink_retry_schedule"}

    def schedule(self, name: str) -> Sequence[int]:
        retry = JOBS[name].retry
        return getattr(self.settings, self.SCHEDULES[retry]) if retry else ()

    def initial(self, name: str) -> Retry | None:
        """RQ's own retries, set at enqueue: they cover crashes and killed workers."""
        schedule = self.schedule(name)
        return Retry(max=len(schedule), interval=list(schedule)) if schedule else None

    def next(self, name: str, tries: int, retry_after: int | None = None) -> Retry | None:
        """The retry after try number `tries` failed, None once the schedule is spent.
        RQ schedules on whole seconds (it truncates), so a Retry-After of N s waits N + 1
        to never come back early; a paced job waits at least its jittered schedule (each
        429 counts a try: a short Retry-After must not spend the budget in seconds)."""
        schedule = self.schedule(name)
        if tries > len(schedule):
            return None
        delay = jittered(schedule[tries - 1], self.settings.retry_jitter) \
            if JOBS[name].paced else 0
        if retry_after is not None:
            delay = max(retry_after + 1, delay)
        return Retry(max=len(schedule), interval=[delay])


_WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED)


class Jobs:
    """The catalogue's queues (one per kind of work, JSON serializer) and the enqueuer."""

    def __init__(self, redis: Redis, policy: RetryPolicy) -> None:
        self.policy = policy
        self._queues = {name: Queue(name, connection=redis, serializer=JSONSerializer)
                        for name in QUEUE_NAMES}

    def __getitem__(self, queue: str) -> Queue:
        return self._queues[queue]

    def queues(self) -> list[Queue]:
        return list(self._queues.values())

    def prime(self) -> None:
        """Read now the server version RQ stamps on every job it enqueues (one INFO, which
        RQ caches on the client): an enqueue into an asyncio pipeline then reads nothing
        through the blocking client."""
        for queue in self._queues.values():
            queue.get_redis_server_version()

    @property
    def primed(self) -> bool:
        return all(queue.redis_server_version for queue in self._queues.values())

    def enqueue(self, pipe: AnyPipeline, name: str, *args: Any, at: datetime | None = None,
                failure_ttl: int | None = None, **describe: Any) -> None:
        """Add job `name` to `pipe`'s MULTI; runs at `at` (needs a worker with scheduler).
        `describe` fills the job's description template."""
        job, queue = JOBS[name], self._queues[JOBS[name].queue]
        options = self._options(name, args, failure_ttl, describe)
        if at is None:
            queue.enqueue_call(job.path, args, pipeline=_as_rq(pipe), **options)
        else:
            self._schedule(_as_rq(pipe), queue, queue.create_job(
                job.path, args=args, status=JobStatus.SCHEDULED, **options), at)

    def ensure_periodic(self, name: str, first: datetime) -> bool:
        """Schedule periodic job `name` at `first` unless it is already waiting or running
        (its id is fixed, so several workers starting at once schedule it once); whether
        it was scheduled."""
        job = JOBS[name]
        queue = self._queues[job.queue]
        existing = queue.fetch_job(rq_job_id(job.id or name))
        if existing is not None and existing.get_status() in _WAITING:
            return False
        with queue.connection.pipeline() as pipe:
            pipe.multi()
            self.enqueue(pipe, name, at=first)
            pipe.execute()
        return True

    def _options(self, name: str, args: Sequence[Any], failure_ttl: int | None,
                 describe: dict[str, Any]) -> dict[str, Any]:
        job = JOBS[name]
        options: dict[str, Any] = {
            "job_id": rq_job_id(job.id.format(*args)) if job.id else None,
            "retry": self.policy.initial(name), "timeout": job.timeout_s,
            "on_failure": Callback(job.on_failure) if job.on_failure else None,
            "result_ttl": job.result_ttl, "failure_ttl": failure_ttl,
            "description": job.describe.format(**describe) if job.describe else None,
            "repeat": Repeat(PERIODIC_REPEATS, job.every_s) if job.every_s else None}
        return {key: value for key, value in options.items() if value is not None}

    @staticmethod
    def _schedule(pipe: Pipeline, queue: Queue, job: Job, at: datetime) -> None:
        """What `Queue.enqueue_at` does, but all inside `pipe` (RQ's registry write skips
        the pipeline) and at the second after `at`: RQ truncates the time to whole
        seconds, so a job due at 12.7 s would otherwise run at 12 s, before it is due."""
        pipe.sadd(queue.redis_queues_keys, queue.key)
        job.set_status(JobStatus.SCHEDULED, pipeline=pipe)
        job.save(pipeline=pipe)
        pipe.zadd(queue.scheduled_job_registry.key, {job.id: math.ceil(at.timestamp())})


def _as_rq(pipe: AnyPipeline) -> Pipeline:
    """RQ types its pipelines as blocking ones; it only buffers commands into them."""
    return cast(Pipeline, pipe)
