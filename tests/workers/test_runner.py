"""`inloop worker`: it serves every queue of the job catalogue, round-robin, so one kind's
backlog starves no other; its sink jobs run concurrently (tests/workers/test_concurrent.py)."""

from __future__ import annotations

import multiprocessing
import signal
import time
from typing import Any

import pytest
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.utils import import_attribute

from api.runtime import Services
from api.store.jobs import JOBS, rq_job_id, sink_job_id
from workers import runner
from workers.runner import make_worker, run_worker


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_catalogue_path_imports_and_is_callable(name: str) -> None:
    job = JOBS[name]
    for path in filter(None, (job.path, job.on_failure)):
        assert callable(import_attribute(path)), path


def test_inloop_worker_serves_every_queue_of_the_catalogue(services: Services) -> None:
    worker = make_worker(services)
    assert sorted(worker.queue_names()) == sorted({job.queue for job in JOBS.values()})


def _sink_job(services: Services, kind: str, ref: str) -> str:
    """Enqueue the sink job of a task that does not exist (it finishes at once, "task not
    found"); its RQ job id."""
    with services.redis.pipeline() as pipe:
        services.jobs.enqueue(pipe, "sink." + kind, ref, "completed", 0)
        pipe.execute()
    return rq_job_id(sink_job_id(ref, "completed", 0))


def test_a_webhook_backlog_does_not_starve_the_other_queues(services: Services) -> None:
    ids = [_sink_job(services, "webhook", f"w{n}") for n in range(3)]
    ids.append(_sink_job(services, "nats", "n0"))
    run_worker(services, burst=True)
    done = [Job.fetch(i, connection=services.redis, serializer=JSONSerializer) for i in ids]
    order = [job.args[0] for job in sorted(done, key=lambda job: job.started_at or 0)]
    assert order == ["w0", "n0", "w1", "w2"]


def test_a_job_past_its_timeout_in_the_main_thread_is_stopped(services: Services) -> None:
    """Jobs other than sink jobs run in the worker's main thread (no fork): RQ's death
    penalty still ends one that outlives its timeout, and the worker goes on."""
    expiry = services.jobs["expiry"]
    slow = expiry.enqueue("time.sleep", 30, job_timeout=1)
    after = _sink_job(services, "webhook", "w-after")
    started = time.monotonic()
    run_worker(services, burst=True)
    assert time.monotonic() - started < 20  # stopped at 1 s, not slept for 30
    slow.refresh()
    assert slow.get_status() == "failed"
    assert "JobTimeoutException" in (slow.latest_result().exc_string or "")
    assert Job.fetch(after, connection=services.redis,
                     serializer=JSONSerializer).get_status() == "finished"


def test_a_burst_worker_starts_no_scheduler_process(services: Services) -> None:
    """RQ's maintenance forks a scheduler process once a worker has run it before, burst
    or not; a burst worker (a test's too: the fork copies the test runner) starts none,
    and its command listener has ended when `work` returns."""
    services.settings.maintenance_interval_s = 1
    for _ in range(2):  # each outlasts the maintenance interval: maintenance runs between
        services.jobs["expiry"].enqueue("time.sleep", 1.2)
    worker = make_worker(services, ["expiry"])
    worker.work(burst=True, with_scheduler=True)
    assert worker.last_cleaned_at is not None and worker.scheduler is not None
    assert worker.scheduler._process is None
    assert not services.redis.exists(*(f"rq:scheduler-lock:{q}" for q in
                                       worker.queue_names()))
    assert worker.pubsub_thread is not None and not worker.pubsub_thread.is_alive()


def _deaf_to_sigterm(ready: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready.set()
    time.sleep(60)


def test_a_scheduler_process_deaf_to_sigterm_is_killed(services: Services,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIGTERM reaching the scheduler process before it installs its handlers is lost:
    stopping it waits SCHEDULER_STOP_S, then kills it (RQ's join waited forever) and
    releases the queue locks it held."""
    monkeypatch.setattr(runner, "SCHEDULER_STOP_S", 0.5)
    worker = make_worker(services, ["expiry"])
    worker.scheduler = scheduler = RQScheduler(worker.queues, connection=services.redis)
    assert scheduler.acquire_locks() == {"expiry"}
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=_deaf_to_sigterm, args=(ready,))
    scheduler._process = process  # type: ignore[assignment]  # RQ types it None
    process.start()
    assert ready.wait(10)  # its SIG_IGN is in place
    started = time.monotonic()
    worker.stop_scheduler()
    assert process.exitcode == -signal.SIGKILL
    assert time.monotonic() - started < 10
    assert not services.redis.exists(scheduler.get_locking_key("expiry"))
    worker.stop_scheduler()  # once ended, a no-op
