"""`inloop worker`: an RQ worker on every queue, with the scheduler for delayed jobs."""

from __future__ import annotations

from rq import Worker
from rq.serializers import JSONSerializer

from api.runtime import Services
from workers.context import install


def make_worker(services: Services, queues: list[str] | None = None) -> Worker:
    install(services)
    chosen = [q for q in services.queues.all() if not queues or q.name in queues]
    return Worker(chosen, connection=services.redis, serializer=JSONSerializer,
                  worker_ttl=services.settings.worker_ttl_s,
                  maintenance_interval=services.settings.maintenance_interval_s)


def run_worker(services: Services, queues: list[str] | None = None) -> None:
    make_worker(services, queues).work(with_scheduler=True)
