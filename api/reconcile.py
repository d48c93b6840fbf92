"""Re-enqueue sink jobs that Redis lost (an AOF `everysec` crash can drop the last second),
and settle deliveries whose job RQ gave up on without the job recording it.

An ended task's delivery is lost when it has no RQ job and is not settled: no record yet
(the job vanished before running) or `retrying` (its scheduled retry vanished). Receivers
dedupe on the event id, so a redundant re-enqueue costs a duplicate at worst. A delivery
whose job failed for good while its record is unsettled (a work horse killed on the last
try of a job enqueued without the failure callback) is recorded as gave up, so it is
listed and can be retried.
"""

from __future__ import annotations

from collections.abc import Iterator

from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from api.domain.events import EVENT_TYPES, Attempt
from api.domain.task import Task
from api.store import keys
from api.store.deliveries import DeliveryLog, delivery_id
from api.store.jobs import rq_job_id, sink_job, sink_job_id
from api.store.tasks import TaskStore

UNSETTLED = ("queued", "retrying")


def ended_task_refs(store: TaskStore) -> Iterator[str]:
    for status in EVENT_TYPES:
        pattern = keys.org_index("*", "status", status)
        for key in store.redis.scan_iter(match=pattern, count=500):
            for member in store.redis.zrange(key, 0, -1):
                yield member.decode() if isinstance(member, bytes) else str(member)


def unsettled(store: TaskStore, task: Task) -> Iterator[tuple[int, Job | None]]:
    """(sink index, its RQ job or None) of every delivery of `task` not yet settled."""
    log, event = DeliveryLog(store), task.status
    for index, sink in enumerate(task.sinks):
        if event in sink.events and log.status(delivery_id(task.ref, event, index)) \
                in UNSETTLED:
            yield index, _job(store, rq_job_id(sink_job_id(task.ref, event, index)))


def _job(store: TaskStore, job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=store.redis, serializer=JSONSerializer)
    except NoSuchJobError:
        return None


def lost_deliveries(store: TaskStore, task: Task) -> list[int]:
    """Sink indexes of `task` whose delivery has neither a job nor a settled record."""
    return [index for index, job in unsettled(store, task) if job is None]


def reconcile(store: TaskStore) -> list[str]:
    """Enqueue every lost delivery again and record the failed ones as gave up; returns
    the delivery ids enqueued again."""
    requeued = []
    for ref in ended_task_refs(store):
        task = store.load(ref)
        for index, job in unsettled(store, task):
            if job is None:
                _requeue(store, task, index)
                requeued.append(delivery_id(ref, task.status, index))
            elif job.is_failed:
                error = f"RQ gave up on the job: {_last_line(job)}"
                DeliveryLog(store).record(task, task.status, index,
                                          Attempt(False, 0, error=error), "gave_up")
    return requeued


def _requeue(store: TaskStore, task: Task, index: int) -> None:
    spec = sink_job(task.ref, task.status, index, task.sinks[index].type,
                    store.retry_schedules)
    with store.redis.pipeline() as pipe:
        pipe.multi()
        store.queues.enqueue(pipe, spec)
        pipe.execute()


def _last_line(job: Job) -> str:
    result = job.latest_result()
    lines = ((result and result.exc_string) or "").strip().splitlines()
    return lines[-1][:300] if lines else "unknown"
