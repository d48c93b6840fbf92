"""Sink jobs in flight at once in one worker (workers/concurrent.py): every event arrives
once with its attempt recorded and its RQ job finished, a hanging receiver holds up no
other, retries keep their schedule, and a job past its timeout is retried, not stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from api.domain.events import Attempt, event_id
from api.runtime import Services
from api.settings import Settings
from api.store.deliveries import DeliveryLog, delivery_id
from api.store.jobs import JOBS, rq_job_id, sink_job_id
from tests.workers.conftest import ANSWERS, BY, make_task
from tests.workers.receiver import Receiver
from workers import concurrent
from workers.concurrent import SinkPool
from workers.runner import make_worker
from workers.sinks.base import SinkCall
from workers.sinks.deliver import TRANSPORTS

WORKER = ("from api.runtime import build_services; from api.settings import Settings; "
          "from workers.runner import make_worker; "
          "make_worker(build_services(Settings()), ['webhook']).work()")


def _rq_job(services: Services, ref: str) -> Job:
    return Job.fetch(rq_job_id(sink_job_id(ref, "completed", 0)), connection=services.redis,
                     serializer=JSONSerializer)


def _until(condition: Callable[[], bool], timeout: float = 20, why: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, why or "timed out"
        time.sleep(0.05)


def _work_until(services: Services, condition: Callable[[], bool], timeout: float = 20,
                ) -> None:
    """Burst runs of one `inloop worker` on the webhook queue (scheduler included, for
    retries) until `condition()` holds."""
    worker = make_worker(services, ["webhook"])
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out working the webhook queue"
        worker.work(burst=True, with_scheduler=True)
        time.sleep(0.1)


def test_many_deliveries_in_flight_each_arrive_once_recorded_and_finished(
        services: Services, receiver: Receiver) -> None:
    services.settings.worker_concurrency = 8
    refs = [make_task(services, [{"type": "webhook", "url": receiver.url}]) for _ in range(40)]
    for ref in refs:
        services.store.complete(ref, ANSWERS, BY)
    deliveries = DeliveryLog(services.store)
    make_worker(services, ["webhook"]).work(burst=True)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert sorted(ids) == sorted(event_id(ref, "completed") for ref in refs)
    assert len({r.peer for r in receiver.received}) > 1  # several connections: in flight at once
    for ref in refs:
        attempts = deliveries.get(delivery_id(ref, "completed", 0))["attempts"]
        assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 200)]
        _assert_finished_as_rq_finishes(services, ref)
    queue = services.jobs["webhook"]
    assert queue.started_job_registry.get_job_ids() == []
    assert services.redis.llen(queue.intermediate_queue_key) == 0


def _assert_finished_as_rq_finishes(services: Services, ref: str) -> None:
    """What RQ's own success handling leaves: the job whole, finished, with its end time,
    its result and its FinishedJobRegistry entry."""
    job = _rq_job(services, ref)
    assert job.get_status() == JobStatus.FINISHED
    assert job.func_name == "workers.sinks.deliver.deliver"
    assert job.args == [ref, "completed", 0] and job.origin == "webhook"
    assert job.started_at and job.ended_at and job.started_at <= job.ended_at
    assert job.return_value() == "delivered"
    assert job.id in services.jobs["webhook"].finished_job_registry.get_job_ids()
    assert services.redis.ttl(job.key) > 0  # RQ's result TTL


def test_a_hanging_receiver_holds_up_no_other_delivery_of_the_worker(
        services: Services, receiver: Receiver, redis_url: str, tmp_path: Path) -> None:
    slow = Receiver().start()
    try:
        slow.plan = [("hang", 60)]
        stuck = make_task(services, [{"type": "webhook", "url": slow.url}])
        fast = [make_task(services, [{"type": "webhook", "url": receiver.url}])
                for _ in range(5)]
        log = tmp_path / "worker.log"
        env = {**os.environ, "INLOOP_REDIS_URL": redis_url, "INLOOP_ALLOW_PRIVATE_WEBHOOKS": "1",
               "INLOOP_WEBHOOK_TIMEOUT_S": "60", "INLOOP_WORKER_CONCURRENCY": "4"}
        with log.open("ab") as out:
            worker = subprocess.Popen([sys.executable, "-c", WORKER], env=env, stdout=out,
                                      stderr=out, start_new_session=True)
        deliveries = DeliveryLog(services.store)
        try:
            services.store.complete(stuck, ANSWERS, BY)
            slow.wait_for(1, timeout=20)
            for ref in fast:
                services.store.complete(ref, ANSWERS, BY)
            _until(lambda: all(deliveries.status(delivery_id(r, "completed", 0)) == "delivered"
                               for r in fast), why=log.read_text()[-3000:])
            assert deliveries.status(delivery_id(stuck, "completed", 0)) == "queued"
            slow.release()
            # A warm shutdown lets the job in flight finish and record its attempt.
            os.killpg(worker.pid, signal.SIGTERM)
            assert worker.wait(20) == 0
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(5)
        assert deliveries.status(delivery_id(stuck, "completed", 0)) == "delivered"
        assert len(slow.received) == 1 and len(receiver.received) == 5
    finally:
        slow.stop()


def test_a_failing_receiver_is_retried_on_schedule_by_the_same_job_then_given_up(
        services: Services, receiver: Receiver) -> None:
    services.settings.worker_concurrency = 4
    receiver.plan = [500] * 10
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(ref, ANSWERS, BY)
    deliveries, did = DeliveryLog(services.store), delivery_id(ref, "completed", 0)
    _work_until(services, lambda: deliveries.status(did) == "gave_up", timeout=30)
    schedule = services.settings.webhook_retry_schedule
    attempts = deliveries.get(did)["attempts"]
    assert [a["status_code"] for a in attempts] == [500] * (len(schedule) + 1)
    assert {r.headers["webhook-id"] for r in receiver.received} == {event_id(ref, "completed")}
    job = _rq_job(services, ref)  # the one job id, re-scheduled by each returned Retry
    assert job.number_of_retries == len(schedule)
    assert job.get_status() == JobStatus.FINISHED
    assert [d["id"] for d in deliveries.gave_up()] == [did]


def test_a_job_past_its_timeout_is_retried_as_abandoned_not_stuck(
        services: Services, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread cannot be stopped: the job is no longer heartbeated, RQ's registry cleanup
    takes it for abandoned and retries it; the late thread's outcome is dropped, and its
    attempt, listed whenever it ends, never overwrites the retry's delivery."""
    monkeypatch.setitem(JOBS, "sink.webhook", replace(JOBS["sink.webhook"], timeout_s=1))
    settings = services.settings
    settings.webhook_timeout_s = 2  # the transport ends the stuck thread, after the job's timeout
    settings.job_monitoring_interval_s = settings.job_heartbeat_grace_s = 1
    settings.maintenance_interval_s = 1
    receiver.plan = [("hang", 30)]
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(ref, ANSWERS, BY)
    deliveries, did = DeliveryLog(services.store), delivery_id(ref, "completed", 0)
    _work_until(services, lambda: deliveries.status(did) == "delivered")
    _until(lambda: len(deliveries.get(did)["attempts"]) >= 3)  # the late thread's too
    errors = [a["error"] or "" for a in deliveries.get(did)["attempts"]]
    assert any("abandoned" in e for e in errors) and any("timeout after 2 s" in e for e in errors)
    assert "" in errors and len(receiver.received) == 2
    assert deliveries.status(did) == "delivered"
    assert _rq_job(services, ref).get_status() == JobStatus.FINISHED


def test_other_jobs_run_while_every_slot_is_held_by_a_hanging_receiver(
        services: Services, receiver: Receiver) -> None:
    services.settings.worker_concurrency = 1
    receiver.plan = [("hang", 3)]
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(ref, ANSWERS, BY)

    def expire_once_the_delivery_hangs() -> None:
        receiver.wait_for(1)
        with services.redis.pipeline() as pipe:
            services.jobs.enqueue(pipe, "task.expire", "no-such-task")
            pipe.execute()

    enqueuer = threading.Thread(target=expire_once_the_delivery_hangs)
    enqueuer.start()
    make_worker(services, ["webhook", "expiry"]).work(burst=True)
    enqueuer.join(30)
    assert not enqueuer.is_alive()
    expiry = Job.fetch(rq_job_id("expire:no-such-task"), connection=services.redis,
                       serializer=JSONSerializer)
    attempt = DeliveryLog(services.store).get(delivery_id(ref, "completed", 0))["attempts"][0]
    assert expiry.get_status() == JobStatus.FINISHED and attempt["status_code"] == 200
    assert expiry.ended_at is not None  # while the delivery still hung:
    assert expiry.ended_at < datetime.fromisoformat(attempt["at"])


class _Crash:
    """A transport that raises: the job crashes (not a failed attempt)."""

    def __init__(self, _settings: Settings) -> None:
        pass

    def send(self, call: SinkCall) -> Attempt:
        raise RuntimeError("transport bug")


def test_a_crashing_job_is_recorded_per_try_and_retried_by_rq_from_its_thread(
        services: Services, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job sees itself (`rq.get_current_job()`) in its pool thread: each crash but the
    last is recorded as retrying, and RQ's own retries run it again, then fail it."""
    monkeypatch.setitem(TRANSPORTS, "webhook", _Crash)
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    services.store.complete(ref, ANSWERS, BY)
    deliveries, did = DeliveryLog(services.store), delivery_id(ref, "completed", 0)
    make_worker(services, ["webhook"]).work(burst=True)
    assert deliveries.status(did) == "retrying"
    _work_until(services, lambda: deliveries.status(did) == "gave_up")
    errors = [a["error"] for a in deliveries.get(did)["attempts"]]
    assert errors == ["internal error: RuntimeError: transport bug"] * (
        len(services.settings.webhook_retry_schedule) + 1)
    assert _rq_job(services, ref).get_status() == JobStatus.FAILED


def test_a_backlog_is_finished_a_batch_at_a_time(services: Services,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`SinkPool.wait` gathers a batch of endings (a quarter of the slots) so a saturated
    worker finishes and refills in batches; it gathers for GATHER_S at most after the
    first ending (slow receivers holding most slots must not slow the others), and never
    waits past its timeout."""
    monkeypatch.setattr(concurrent, "GATHER_S", 0.5)  # wide: the test's timings are loose
    pool = SinkPool(make_worker(services, ["webhook"]), 8, 60)
    assert pool.batch == 2
    gates = [threading.Event() for _ in range(4)]
    futures = [pool._threads.submit(gate.wait, 10) for gate in gates]
    pool._running.update(dict.fromkeys(futures))  # type: ignore[arg-type]

    def ended(*indexes: int) -> None:
        for future in (futures[i] for i in indexes):  # as `finish` takes them
            del pool._running[future]

    gates[0].set()
    threading.Timer(0.1, gates[1].set).start()
    pool.wait(5)
    assert futures[1].done()  # the batch's second ending, not only its first
    ended(0, 1)
    threading.Timer(0.05, gates[2].set).start()
    started = time.monotonic()
    pool.wait(5)
    assert 0.4 < time.monotonic() - started < 3  # the gathering ends, not the timeout
    ended(2)
    started = time.monotonic()
    pool.wait(0.2)
    assert 0.15 < time.monotonic() - started < 2  # nothing ends: the timeout
    gates[3].set()
    pool._threads.shutdown(wait=True)
