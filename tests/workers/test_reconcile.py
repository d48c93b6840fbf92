"""`inloop deliveries reconcile | failed | retry`: lost jobs come back, gave-up ones are listed."""

from __future__ import annotations

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer

from api.cli import main
from api.runtime import Services
from api.store.deliveries import DeliveryLog, delivery_id, sink_job_id
from api.store.jobs import rq_job_id
from tests.workers.conftest import ANSWERS, BY, Drain, make_task
from tests.workers.receiver import Receiver


def test_reconcile_requeues_a_lost_job_once(services: Services, receiver: Receiver,
                                            drain: Drain) -> None:
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(ref, ANSWERS, BY)
    assert services.tasks.reconcile() == []  # the job is there: nothing lost
    job = Job.fetch(rq_job_id(sink_job_id(ref, "completed", 0)),
                    connection=services.redis, serializer=JSONSerializer)
    job.delete()  # as if Redis lost the last second before a crash

    did = delivery_id(ref, "completed", 0)
    assert services.tasks.reconcile() == [did]
    drain(lambda: DeliveryLog(services.store).status(did) == "delivered")
    assert len(receiver.received) == 1
    assert services.tasks.reconcile() == []


def test_cli_lists_and_retries_deliveries_that_gave_up(
        services: Services, receiver: Receiver, drain: Drain, redis_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    receiver.plan = [410]
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(ref, ANSWERS, BY)
    did = delivery_id(ref, "completed", 0)
    drain(lambda: DeliveryLog(services.store).status(did) == "gave_up")

    monkeypatch.setenv("INLOOP_REDIS_URL", redis_url)
    main(["deliveries", "failed"])
    line = capsys.readouterr().out.strip()
    shown = services.store.load(ref).task_id  # the org's own id, not the ref
    assert line.startswith(did) and f"task {shown}" in line and "last: HTTP 410" in line
    main(["deliveries", "retry", did])
    assert capsys.readouterr().out.strip() == f"{did} queued"
    drain(lambda: DeliveryLog(services.store).status(did) == "delivered")
    main(["deliveries", "failed"])
    assert capsys.readouterr().out == ""


def _abandon(services: Services, ref: str, *, callback: bool = True) -> None:
    """The sink job's work horse dies on its last try: RQ's own registry cleanup finds it.

    Without `callback` the job looks like one enqueued before sink jobs had one."""
    queue = services.jobs["webhook"]
    job = Job.fetch(rq_job_id(sink_job_id(ref, "completed", 0)),
                    connection=services.redis, serializer=JSONSerializer)
    assert not job.retries_left and job.failure_callback is not None
    if not callback:
        services.redis.hdel(job.key, "failure_callback_name")
    queue.remove(job)
    registry = queue.started_job_registry
    services.redis.zadd(registry.key, {f"{job.id}:dead-horse": 1})  # its heartbeat expired
    registry.cleanup()
    assert job.id in queue.failed_job_registry


@pytest.mark.parametrize("callback", [True, False], ids=["callback", "reconcile"])
def test_a_job_abandoned_on_its_last_try_gives_up_and_can_be_retried(
        services: Services, receiver: Receiver, drain: Drain, callback: bool) -> None:
    services.settings.webhook_retry_schedule = []  # no RQ retries: the first death is the last
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(ref, ANSWERS, BY)
    _abandon(services, ref, callback=callback)

    did, log = delivery_id(ref, "completed", 0), DeliveryLog(services.store)
    assert services.tasks.reconcile() == []  # not lost: settled by the callback or here
    assert log.status(did) == "gave_up"
    assert [d["id"] for d in log.gave_up()] == [did]
    error = log.get(did)["attempts"][-1]["error"]
    assert error.startswith("internal error: the delivery was abandoned" if callback else
                            "RQ gave up on the job: Moved to FailedJobRegistry, due to "
                            "AbandonedJobError")
    log.retry(did)
    drain(lambda: log.status(did) == "delivered")
    assert len(receiver.received) == 1
