"""Sink jobs in flight at once inside one `inloop worker` (`SinkPool`).

A delivery mostly waits (on the receiver, on Redis) and RQ's bookkeeping costs a dozen
round trips per job, so one job at a time leaves a worker idle or busy with overhead.
Sink jobs (`SINK_PATH`: queues webhook, nats, email) bound their own I/O with their
transports' timeouts, so up to `INLOOP_WORKER_CONCURRENCY` of them run at once in a
thread pool, and RQ's bookkeeping is batched: the jobs taken together are prepared in one
pipeline (RQ's Execution records, StartedJobRegistry entries, status started), and the
jobs that ended together are finished in one (RQ's success handling). A returned
`rq.Retry` or an exception goes through RQ's own per-job handling (the rare path).

What RQ's work horse guaranteed still holds:
- A job in flight is in RQ's StartedJobRegistry, kept alive by one heartbeat thread for
  all of them: a worker killed mid-job (SIGKILL, OOM) has every job it held retried by
  RQ's registry cleanup once the heartbeat lapses (and `on_failure` records the attempt).
- Python cannot kill a thread, so a job past its timeout is not stopped: it is no longer
  heartbeated, RQ's registry cleanup takes it for abandoned and retries it (same job id),
  and whatever its thread returns later is dropped (the attempt it records is listed,
  but never overwrites what the retry found: `DeliveryLog.record`). The thread keeps its
  slot until it returns, which its transport's timeout bounds.
- A warm shutdown (SIGTERM) takes no more jobs and lets those in flight finish (each
  bounded by its timeout); see `InloopWorker` in workers/runner.py.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from rq import Retry
from rq.executions import Execution
from rq.job import Job, JobStatus, _job_stack
from rq.queue import Queue
from rq.registry import FinishedJobRegistry
from rq.results import Result
from rq.utils import now, utcformat
from rq.worker import BaseWorker, WorkerStatus

from api.store.jobs import JOBS, SINK_PATH

log = logging.getLogger(__name__)
SINK_QUEUES = frozenset(j.queue for j in JOBS.values() if j.path == SINK_PATH)
# Queues holding sink jobs only: taken in batches. (The email queue also holds other
# jobs; its sink jobs come through RQ's own dequeue, one at a time, and still run here.)
BATCH_QUEUES = SINK_QUEUES - {j.queue for j in JOBS.values() if j.path != SINK_PATH}
# LMOVE up to ARGV[1] job ids from each queue (KEYS: queue, its intermediate list, ...)
# into its intermediate list, as RQ's own dequeue does: a worker dying before the jobs
# reach the StartedJobRegistry leaves them where RQ's maintenance finds and retries them.
GATHER_S = 0.01  # how long a wait goes on after the first ending, for more of its batch
TAKE = """
local limit, taken = tonumber(ARGV[1]), {}
for i = 1, #KEYS, 2 do
  while #taken < 2 * limit do
    local id = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'LEFT', 'RIGHT')
    if not id then break end
    table.insert(taken, KEYS[i])
    table.insert(taken, id)
  end
end
return taken
"""


@dataclass
class Running:
    job: Job
    queue: Queue
    execution: Execution
    deadline: float  # monotonic: past it the job is left to RQ's abandoned-job handling
    overdue: bool = False  # no longer heartbeated; its outcome will be dropped


def is_sink(job: Job) -> bool:
    return job.func_name == SINK_PATH


def _perform(job: Job) -> Any:
    """The pool thread's part: RQ's `Job.perform` without its PERSIST of the job key (a
    round trip of its own; `SinkPool.start` sends it with the rest), then the end time
    RQ records. RQ's job stack is thread-local: `rq.get_current_job()` is this job here."""
    _job_stack.push(job)
    try:
        job._result = job._execute()
        return job._result
    finally:
        job.ended_at = now()
        _job_stack.pop()


def heartbeat_ttl(deadline: float, interval: int, grace_s: int) -> int:
    """A job's heartbeat TTL: until the next heartbeat (`interval`), never past its
    `deadline` (monotonic), plus the grace; a killed worker's job is seen abandoned that
    long after its last heartbeat."""
    left = deadline - time.monotonic()
    return int(max(min(left, interval), 0)) + grace_s


def _working_s(job: Job) -> float:
    assert job.started_at and job.ended_at  # set by `start` and `_perform`
    return (job.ended_at - job.started_at).total_seconds()


class SinkPool:
    """Up to `size` sink jobs of `worker` in flight; every method but `beat` is called
    from the worker's main thread."""

    def __init__(self, worker: BaseWorker, size: int, grace_s: int) -> None:
        self.worker, self.size, self.grace_s = worker, size, grace_s
        self.interval = worker.job_monitoring_interval
        self._threads = ThreadPoolExecutor(size, thread_name_prefix=f"sink-{worker.name}")
        self._running: dict[Future[Any], Running] = {}
        self._lock = threading.Lock()  # `beat` must not touch a job being finished
        self._take = worker.connection.register_script(TAKE)
        self._batched = [q for q in worker.queues if q.name in BATCH_QUEUES]
        self._registries: dict[str, FinishedJobRegistry] = {}
        self.batch = max(1, size // 4)  # jobs ended before a finish, under a backlog

    @property
    def busy(self) -> bool:
        return bool(self._running)

    @property
    def free(self) -> int:
        return self.size - len(self._running)

    def take(self, limit: int | None = None) -> list[tuple[Job, Queue]]:
        """Ready jobs of the batch queues, up to `limit` (the free slots), in one round
        trip plus one to read them; the queues take turns at coming first."""
        limit = self.free if limit is None else limit
        if limit <= 0 or not self._batched:
            return []
        self._batched.append(self._batched.pop(0))
        keys = [k for q in self._batched for k in (q.key, q.intermediate_queue_key)]
        taken = self._take(keys=keys, args=[limit])
        by_key = {q.key: q for q in self._batched}
        pairs = [(by_key[k.decode()], i.decode()) for k, i in zip(taken[::2], taken[1::2],
                                                                 strict=True)]
        if not pairs:
            return []
        jobs = Job.fetch_many([i for _, i in pairs], self.worker.connection,
                              serializer=self.worker.serializer)
        return [(job, queue) for job, (queue, _) in zip(jobs, pairs, strict=True) if job]

    def start(self, batch: list[tuple[Job, Queue]]) -> None:
        """Prepare `batch` for execution in one transaction, as RQ's `prepare_execution`
        and `prepare_job_execution` do for one job, and hand each to a pool thread."""
        if not batch:
            return
        worker, started = self.worker, time.monotonic()
        prepared = []
        with worker.connection.pipeline() as pipe:
            for job, queue in batch:
                deadline = started + (job.timeout or Queue.DEFAULT_TIMEOUT)
                running = Running(job, queue, Execution.create(
                    job, self._ttl(deadline), pipeline=pipe, worker_name=worker.name),
                    deadline)
                job.prepare_for_execution(worker.name, pipeline=pipe)
                pipe.persist(job.key)
                pipe.lrem(queue.intermediate_queue_key, 1, job.id)
                prepared.append(running)
            if worker.get_state() != WorkerStatus.BUSY:
                worker.set_state(WorkerStatus.BUSY, pipeline=pipe)
            pipe.execute()
        with self._lock:
            for running in prepared:
                self._running[self._threads.submit(_perform, running.job)] = running

    def wait(self, timeout: float) -> None:
        """Until `batch` jobs in flight have ended (all of them, when fewer are in
        flight), but at most GATHER_S after the first ending, or `timeout` seconds: a
        backlog then finishes and refills its slots a batch at a time, in one pipeline
        each, rather than one job per cycle; and while slow receivers hold most slots,
        the few that turn over are still refilled at once."""
        deadline = time.monotonic() + timeout
        pending: Iterable[Future[Any]] = list(self._running)
        ended = 0
        while pending and ended < self.batch and (left := deadline - time.monotonic()) > 0:
            done, pending = wait(pending, left, return_when=FIRST_COMPLETED)
            if done and not ended:
                deadline = min(deadline, time.monotonic() + GATHER_S)
            ended += len(done)

    def finish(self) -> None:
        """RQ's bookkeeping of every job that ended: successes in one transaction."""
        with self._lock:
            ended = {f: self._running.pop(f) for f in [f for f in self._running if f.done()]}
        succeeded = []
        for future, running in ended.items():
            if running.overdue:
                log.warning("job %s ended after its timeout; RQ retries it as abandoned",
                            running.job.id)
            elif future.exception() is not None:
                self._failed(running, future.exception())  # type: ignore[arg-type]
            elif isinstance(future.result(), Retry):
                self._retry(running, future.result())
            else:
                succeeded.append((running, future.result()))
        self._succeeded(succeeded)

    def drain(self) -> None:
        """Finish every job in flight, except those past their timeout (RQ's now)."""
        while any(not r.overdue for r in self._running.values()):
            self.wait(1)
            self.finish()
        self._threads.shutdown(wait=False)

    def beat(self) -> None:
        """Keep each job in flight alive in the StartedJobRegistry until the next beat
        (the monitoring interval) plus the grace, as RQ's `maintain_heartbeats` does for one;
        a job past its timeout is left out (and logged once)."""
        with self._lock:
            alive = [r for r in self._running.values() if self._alive(r)]
            if not alive:
                return
            with self.worker.connection.pipeline() as pipe:
                for running in alive:
                    ttl = self._ttl(running.deadline)
                    running.execution.heartbeat(running.job.started_job_registry, ttl, pipe)
                    running.job.heartbeat(now(), ttl, pipeline=pipe)
                pipe.execute()

    def _alive(self, running: Running) -> bool:
        if not running.overdue and time.monotonic() > running.deadline:
            running.overdue = True
            log.error("job %s is past its timeout (%s s); its thread cannot be stopped and "
                      "RQ will retry it as abandoned", running.job.id, running.job.timeout)
        return not running.overdue

    def _ttl(self, deadline: float) -> int:
        return heartbeat_ttl(deadline, self.interval, self.grace_s)

    def _succeeded(self, done: list[tuple[Running, Any]]) -> None:
        """RQ's `handle_job_success` for all of `done` in one transaction. Without its
        WATCH on the dependents key: sink jobs are enqueued without dependencies and none
        depends on them, so there are no dependents to enqueue."""
        if not done:
            return
        worker = self.worker
        with worker.connection.pipeline() as pipe:
            for running, result in done:
                self._success(running, result, pipe)
            pipe.hincrby(worker.key, "successful_job_count", len(done))
            pipe.hincrbyfloat(worker.key, "total_working_time",
                              sum(_working_s(r.job) for r, _ in done))
            pipe.execute()
        for running, _ in done:
            running.job.send_webhooks(JobStatus.FINISHED)

    def _success(self, running: Running, result: Any, pipe: Any) -> None:
        job, execution = running.job, running.execution
        job._status = JobStatus.FINISHED
        job.execute_success_callback(self.worker.death_penalty_class, result)
        result_ttl = job.get_result_ttl(self.worker.default_result_ttl)
        if result_ttl != 0:
            self._finished(running, result_ttl, pipe)
        job.cleanup(result_ttl, pipeline=pipe, remove_from_queue=False)
        execution.delete(job=job, pipeline=pipe)

    def _finished(self, running: Running, result_ttl: int, pipe: Any) -> None:
        """RQ's `Job._handle_success`, writing only the job's fields that changed since
        `start` saved it (its status and end time) where RQ saves the whole job again
        (a fifth of a delivery's bookkeeping): the result, the FinishedJobRegistry."""
        job, execution = running.job, running.execution
        assert job.ended_at is not None  # set by `_perform`
        pipe.hset(job.key, mapping={"status": JobStatus.FINISHED,
                                    "ended_at": utcformat(job.ended_at)})
        Result.create(job, Result.Type.SUCCESSFUL, return_value=job._result, ttl=result_ttl,
                      worker_name=self.worker.name, pipeline=pipe, execution_id=execution.id,
                      execution_started_at=execution.created_at,
                      execution_ended_at=job.ended_at)
        self._finished_registry(running.queue).add(job, result_ttl, pipe)

    def _finished_registry(self, queue: Queue) -> FinishedJobRegistry:
        if queue.name not in self._registries:  # kept: each is a few objects to build
            self._registries[queue.name] = queue.finished_job_registry
        return self._registries[queue.name]

    def _retry(self, running: Running, retry: Retry) -> None:
        """RQ's handling of a returned Retry (its `perform_job` branch), for one job."""
        worker, job = self.worker, running.job
        job._result = retry
        worker.execution = running.execution  # what RQ's cleanup deletes
        worker.handle_job_retry(job=job, queue=running.queue, retry=retry,
                                started_job_registry=running.queue.started_job_registry,
                                execution=running.execution)

    def _failed(self, running: Running, error: BaseException) -> None:
        """RQ's handling of a job that raised (its `perform_job` branch), for one job:
        the failure callback, the exception handlers, then a retry or the failed registry."""
        worker, job = self.worker, running.job
        job._status = JobStatus.FAILED
        exc_info: Any = (type(error), error, error.__traceback__)
        try:
            job.execute_failure_callback(worker.death_penalty_class, *exc_info)
        except Exception as callback_error:
            exc_info = (type(callback_error), callback_error, callback_error.__traceback__)
        worker.handle_exception(job, *exc_info)
        worker.execution = running.execution
        worker.handle_job_failure(job=job, queue=running.queue,
                                  exc_string="".join(traceback.format_exception(*exc_info)),
                                  started_job_registry=running.queue.started_job_registry)
