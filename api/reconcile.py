"""Re-enqueue sink jobs that Redis lost (an AOF `everysec` crash can drop the last second).

An ended task's delivery is lost when it has no RQ job and is not settled: no record yet
(the job vanished before running) or `retrying` (its scheduled retry vanished). Receivers
dedupe on the event id, so a redundant re-enqueue costs a duplicate at worst.
"""

from __future__ import annotations

from collections.abc import Iterator

from rq.job import Job

from api import keys
from api.deliveries import DeliveryLog, delivery_id, sink_job, sink_job_id
from api.jobs import rq_job_id
from api.models import Task
from api.store import TaskStore

ENDED = ("completed", "cancelled", "failed")


def ended_task_ids(store: TaskStore) -> Iterator[str]:
    for status in ENDED:
        pattern = keys.org_index("*", "status", status)
        for key in store.redis.scan_iter(match=pattern, count=500):
            for member in store.redis.zrange(key, 0, -1):
                yield member.decode() if isinstance(member, bytes) else str(member)


def lost_deliveries(store: TaskStore, task: Task) -> list[int]:
    """Sink indexes of `task` whose delivery has neither a job nor a settled record."""
    log, event = DeliveryLog(store), task.status
    lost = []
    for index, sink in enumerate(task.sinks):
        if event not in sink.events:
            continue
        status = log.status(delivery_id(task.task_id, event, index))
        job_id = rq_job_id(sink_job_id(task.task_id, event, index))
        if status in ("queued", "retrying") and not Job.exists(job_id, store.redis):
            lost.append(index)
    return lost


def reconcile(store: TaskStore) -> list[str]:
    """Enqueue every lost delivery again; returns their delivery ids."""
    requeued = []
    for task_id in ended_task_ids(store):
        task = store.load(task_id)
        for index in lost_deliveries(store, task):
            spec = sink_job(store, task_id, task.status, index, task.sinks[index].type)
            with store.redis.pipeline() as pipe:
                pipe.multi()
                store.queues.enqueue(pipe, spec)
                pipe.execute()
            requeued.append(delivery_id(task_id, task.status, index))
    return requeued
