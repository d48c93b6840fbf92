"""`inloop worker` serves its queues round-robin, so one kind's backlog starves no other."""

from __future__ import annotations

from rq.job import Job
from rq.serializers import JSONSerializer

from api.runtime import Services
from workers.runner import run_worker


def test_a_webhook_backlog_does_not_starve_the_other_queues(services: Services) -> None:
    webhook, nats = services.queues["webhook"], services.queues["nats"]
    # Sink jobs of tasks that do not exist: each finishes at once ("task not found").
    jobs = [webhook.enqueue("workers.sinks.deliver.deliver", f"w{n}", "completed",
                            0) for n in range(3)]
    jobs.append(nats.enqueue("workers.sinks.deliver.deliver", "n0", "completed", 0))
    run_worker(services, burst=True)
    done = [Job.fetch(job.id, connection=services.redis, serializer=JSONSerializer)
            for job in jobs]
    order = [job.args[0] for job in sorted(done, key=lambda job: job.started_at or 0)]
    assert order == ["w0", "n0", "w1", "w2"]
