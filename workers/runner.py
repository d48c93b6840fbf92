"""`inloop worker`: an RQ worker on every queue, with the scheduler for delayed jobs.

Queues are served round-robin, not in strict priority order: a backlog of webhooks to a
hanging receiver must not starve the NATS and email sinks (or expiry and Slack jobs)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

from rq import Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import DequeueStrategy

from api.runtime import Services
from api.store.jobs import JOBS
from workers.context import install
from workers.sinks.deliver import on_horse_killed

RQ_HEARTBEAT_GRACE_S = 60
FIRST_RETENTION_AFTER = timedelta(minutes=1)
# Imported once in the worker, so each forked work horse starts with them loaded (the sink
# job's imports cost ~0.3 s, which every job would otherwise pay again).
PRELOADED_JOBS = sorted({job.path.rsplit(".", 1)[0] for job in JOBS.values()})


class InloopWorker(Worker):
    """An RQ worker whose heartbeat grace is a setting, not RQ's fixed 60 s.

    A killed worker's job is retried once its StartedJobRegistry entry (monitoring
    interval + grace) expires, so the grace bounds how late an abandoned sink job resumes.
    """

    heartbeat_grace_s = RQ_HEARTBEAT_GRACE_S

    def get_heartbeat_ttl(self, job: Job) -> int:
        ttl: int = super().get_heartbeat_ttl(job)
        return ttl - RQ_HEARTBEAT_GRACE_S + self.heartbeat_grace_s


def make_worker(services: Services, queues: list[str] | None = None) -> Worker:
    install(services)
    for module in PRELOADED_JOBS:
        importlib.import_module(module)
    settings = services.settings
    chosen = [q for q in services.jobs.queues() if not queues or q.name in queues]
    worker = InloopWorker(chosen, connection=services.redis, serializer=JSONSerializer,
                          worker_ttl=settings.worker_ttl_s,
                          maintenance_interval=settings.maintenance_interval_s,
                          job_monitoring_interval=settings.job_monitoring_interval_s,
                          work_horse_killed_handler=on_horse_killed)
    worker.heartbeat_grace_s = settings.job_heartbeat_grace_s
    return worker


def run_worker(services: Services, queues: list[str] | None = None, *,
               burst: bool = False) -> None:
    """Work until stopped (or, with `burst`, until the queues are empty)."""
    if services.settings.retention_days:
        services.jobs.ensure_periodic("tasks.retention",
                                      datetime.now(UTC) + FIRST_RETENTION_AFTER)
    make_worker(services, queues).work(burst=burst, with_scheduler=True,
                                       dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
