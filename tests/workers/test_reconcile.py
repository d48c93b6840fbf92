"""`inloop deliveries reconcile | failed | retry`: lost jobs come back, gave-up ones are listed."""

from __future__ import annotations

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer

from api.cli import main
from api.deliveries import DeliveryLog, delivery_id, sink_job_id
from api.jobs import rq_job_id
from api.reconcile import reconcile
from api.runtime import Services
from tests.workers.conftest import ANSWERS, BY, Drain, make_task
from tests.workers.receiver import Receiver


def test_reconcile_requeues_a_lost_job_once(services: Services, receiver: Receiver,
                                            drain: Drain) -> None:
    task_id = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(task_id, ANSWERS, BY)
    assert reconcile(services.store) == []  # the job is there: nothing lost
    job = Job.fetch(rq_job_id(sink_job_id(task_id, "completed", 0)),
                    connection=services.redis, serializer=JSONSerializer)
    job.delete()  # as if Redis lost the last second before a crash

    did = delivery_id(task_id, "completed", 0)
    assert reconcile(services.store) == [did]
    drain(lambda: DeliveryLog(services.store).status(did) == "delivered")
    assert len(receiver.received) == 1
    assert reconcile(services.store) == []


def test_cli_lists_and_retries_deliveries_that_gave_up(
        services: Services, receiver: Receiver, drain: Drain, redis_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    receiver.plan = [410]
    task_id = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(task_id, ANSWERS, BY)
    did = delivery_id(task_id, "completed", 0)
    drain(lambda: DeliveryLog(services.store).status(did) == "gave_up")

    monkeypatch.setenv("INLOOP_REDIS_URL", redis_url)
    main(["deliveries", "failed"])
    line = capsys.readouterr().out.strip()
    assert line.startswith(did) and f"task {task_id}" in line and "last: HTTP 410" in line
    main(["deliveries", "retry", did])
    assert capsys.readouterr().out.strip() == f"{did} queued"
    drain(lambda: DeliveryLog(services.store).status(did) == "delivered")
    main(["deliveries", "failed"])
    assert capsys.readouterr().out == ""
