"""`inloop worker`: an RQ worker on every queue, with the scheduler for delayed jobs.

Jobs run in the worker process itself, without a fork per job (`InloopWorker`): a fork
and a fresh work horse cost more than most jobs (a webhook delivery), and a kept process
keeps its connections (Redis, receivers) warm. Sink jobs (webhook, NATS, email) run
concurrently, up to `INLOOP_WORKER_CONCURRENCY` in flight in threads (`SinkPool`, in
workers/concurrent.py, which says what that path guarantees); the other jobs run one at
a time in the main thread, beside them. What the work horse gave is kept: a job of the
main thread past its timeout is stopped (RQ's SIGALRM death penalty), a sink job past its
timeout is retried as abandoned, a job's exception fails only that job, and a heartbeat
thread keeps every running job's entry in RQ's StartedJobRegistry alive, so a worker
killed mid-job (SIGKILL, OOM) has its jobs retried within the monitoring interval plus
the grace. A worker that died is restarted by whatever runs it (the platform's process
manager, systemd, `inloop dev`). SIGTERM is a warm stop: no more jobs are taken, and those
in flight end first.

Queues are served round-robin, not in strict priority order: a backlog of webhooks to a
hanging receiver must not starve the NATS and email sinks (or expiry and Slack jobs, which
run even while every sink slot is held)."""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.worker import DequeueStrategy

from api.runtime import Services
from api.store.jobs import JOBS
from workers.concurrent import BATCH_QUEUES, SINK_QUEUES, SinkPool, heartbeat_ttl, is_sink
from workers.context import install

log = logging.getLogger(__name__)
RQ_HEARTBEAT_GRACE_S = 60
HEARTBEAT_EVERY_S = 5  # the worker's own key (TTL worker_ttl + 60) is refreshed this often
POLL_S = 0.02  # with sink jobs in flight and a slot free: how often ready jobs are looked for
WAIT_S = 0.25  # every slot taken: the longest wait for one to end (other queues, a stop)
SCHEDULER_STOP_S = 10  # how long a stopping scheduler process gets, per signal
PUBSUB_WAKE_S = 1  # how often the worker's command listener looks whether it must end
FIRST_RETENTION_AFTER = timedelta(minutes=1)
# Imported once at start: a job's first run must not pay its imports (~0.3 s for sinks).
PRELOADED_JOBS = sorted({job.path.rsplit(".", 1)[0] for job in JOBS.values()})


class InloopWorker(SimpleWorker):
    """An RQ SimpleWorker (no fork) that runs sink jobs concurrently (`SinkPool`), with
    one heartbeat thread for every job it runs, a heartbeat grace that is a setting, and
    no Redis write that changes nothing (a heartbeat of the worker key seconds after the
    last, an IDLE state when it is IDLE already)."""

    heartbeat_grace_s = RQ_HEARTBEAT_GRACE_S
    concurrency = 1  # sink jobs in flight at once

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._beating: Job | None = None  # the single-path job the heartbeat thread keeps alive
        self._beat_lock = threading.Lock()
        self._beats_stop: threading.Event | None = None  # set: the beater thread ends
        self._last_beat = 0.0  # monotonic time of the last worker-key heartbeat
        self._job_started = time.monotonic()
        self._blocked = False  # in RQ's blocking dequeue: nothing taken, a stop may raise
        self._next_unbatched = 0.0  # monotonic time the other queues are next looked at
        self._burst = False
        self.pool: SinkPool | None = None

    def work(self, burst: bool = False, *args: Any, **kwargs: Any) -> bool:
        self._burst = burst
        return super().work(burst, *args, **kwargs)

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        self.pool = SinkPool(self, self.concurrency, self.heartbeat_grace_s)
        self._beats_stop = stop = threading.Event()
        threading.Thread(target=self._beat_forever, args=(stop, self.pool), daemon=True,
                         name=f"rq-heartbeat-{self.name}").start()

    def execute_job(self, job: Job, queue: Queue) -> None:
        assert self.pool is not None
        if is_sink(job):
            self.pool.start([(job, queue), *self.pool.take(self.pool.free - 1)])
            return
        self._job_started = time.monotonic()
        self.prepare_execution(job)
        self._beat_for(job)
        try:
            self.perform_job(job, queue)
        finally:
            self._beat_for(None)
        self.set_state("idle" if not self.pool.busy else "busy")

    def dequeue_job_and_maintain_ttl(self, timeout: int | None,
                                     max_idle_time: int | None = None) -> Any:
        """While sink jobs are in flight: finish those that ended, fill the free slots,
        and return a ready job of another kind (RQ's loop runs it on the single path).
        RQ's own (blocking) dequeue once none is in flight; None once a stop is asked."""
        assert self.pool is not None
        while self.pool.busy and not self._stop_requested:
            try:
                found = self._pump(self.pool)
            except redis.exceptions.ConnectionError:
                # Jobs whose bookkeeping failed stay in the StartedJobRegistry, no longer
                # heartbeated: RQ retries them as abandoned (at least once, as ever).
                log.warning("Redis unreachable; trying again in 1 s", exc_info=True)
                time.sleep(1)
                continue
            if found is not None:
                return found
        if self._stop_requested:
            return None
        self._blocked = True
        try:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        finally:
            self._blocked = False

    def _pump(self, pool: SinkPool) -> tuple[Job, Queue] | None:
        pool.finish()
        if self.should_run_maintenance_tasks:
            self.run_maintenance_tasks()
        self.heartbeat()
        if pool.free:
            pool.start(pool.take())
        found = None
        if time.monotonic() >= self._next_unbatched:  # a few LPOPs: not on every cycle
            found = self._dequeue_unbatched(sinks_too=pool.free > 0)
            self._next_unbatched = time.monotonic() + (0 if found else POLL_S)
        if found is None:
            pool.wait(POLL_S if pool.free else WAIT_S)
        return found

    def _dequeue_unbatched(self, sinks_too: bool) -> tuple[Job, Queue] | None:
        """A ready job of the queues `SinkPool.take` leaves out, without blocking; with
        every slot taken, of the queues without sink jobs only (expiries and Slack jobs
        go on while slow receivers hold the slots)."""
        queues = [q for q in self._ordered_queues if q.name not in BATCH_QUEUES
                  and (sinks_too or q.name not in SINK_QUEUES)]
        if not queues:
            return None
        found = self.queue_class.dequeue_any(queues, None, connection=self.connection,
                                             job_class=self.job_class,
                                             serializer=self.serializer,
                                             death_penalty_class=self.death_penalty_class)
        if found is not None:
            self.reorder_queues(reference_queue=found[1])
        return found

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False,
                              ) -> None:
        # Always out of its intermediate list (a no-op when it was never there): with
        # one queue left to ask, `_dequeue_unbatched` moves the job there as RQ does.
        super().prepare_job_execution(job, True)

    def _shutdown(self) -> None:
        """A warm stop: RQ raises StopRequested unless its state is busy, which between
        taking jobs and writing the busy state would drop what was taken; outside RQ's
        blocking dequeue the loop notices `_stop_requested` instead."""
        if self._blocked:
            super()._shutdown()
            return
        self._stop_requested = True
        self.set_shutdown_requested_date()
        if self.scheduler:
            self.stop_scheduler()

    def run_maintenance_tasks(self) -> None:
        """RQ's, but a burst worker starts no scheduler process: RQ's maintenance forks
        one (a copy of this process, a test runner's too) where RQ's burst start only
        enqueues the jobs that are due, once."""
        scheduler = self.scheduler
        if self._burst:
            self.scheduler = None
        try:
            super().run_maintenance_tasks()
        finally:
            self.scheduler = scheduler

    def stop_scheduler(self) -> None:
        """RQ's, bounded: the scheduler process gets SIGTERM, then SIGKILL after
        SCHEDULER_STOP_S. A scheduler that maintenance (re)started inherits this worker's
        handlers: a SIGTERM reaching it before it installs its own runs this worker's copy
        there and is lost, and RQ's join would wait forever."""
        process = self.scheduler._process if self.scheduler else None
        if process is None or process.pid in (None, os.getpid()) or \
                process.exitcode is not None:
            return  # none, this is it (a forked copy), or it has ended
        process.terminate()
        process.join(SCHEDULER_STOP_S)
        if process.exitcode is None:
            log.error("the scheduler process %s outlived SIGTERM; killing it", process.pid)
            process.kill()
            process.join(SCHEDULER_STOP_S)
            # What it would have released on its way out: the next worker's scheduler
            # takes the queues' locks at once instead of at its next maintenance.
            self.scheduler.release_locks()
            self.scheduler.register_death()

    def subscribe(self) -> None:
        """RQ's listener for worker commands, waking every PUBSUB_WAKE_S (RQ's: 60 s) so
        that `unsubscribe` can end it."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]  # RQ: None
            sleep_time=PUBSUB_WAKE_S, daemon=True,
            exception_handler=self._pubsub_exception_handler)

    def unsubscribe(self) -> None:
        """The listener ends and closes its pub/sub itself. RQ's closed it from here after
        waiting 1 s for a thread that slept up to 60 s, under a read still in progress."""
        if self.pubsub_thread:
            self.pubsub_thread.stop()
            self.pubsub_thread.join(PUBSUB_WAKE_S + SCHEDULER_STOP_S)
            if not self.pubsub_thread.is_alive():  # ended by an error: it closed nothing
                self.pubsub.close()

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        # The job is done: no heartbeat may re-add it to the StartedJobRegistry after RQ
        # removes it (a stale entry would later be taken for an abandoned job).
        self._beat_for(None)
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def get_heartbeat_ttl(self, job: Job) -> int:
        """See `heartbeat_ttl` (a job without a timeout has no deadline)."""
        deadline = self._job_started + job.timeout if job.timeout and job.timeout > 0 \
            else float("inf")
        return heartbeat_ttl(deadline, self.job_monitoring_interval, self.heartbeat_grace_s)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """The worker key always lives `worker_ttl` + 60 s (RQ shortens it during a job;
        only monitoring reads it, a job's liveness is its StartedJobRegistry entry), so
        a heartbeat seconds after the last is skipped whoever asks."""
        if pipeline is None and time.monotonic() - self._last_beat < HEARTBEAT_EVERY_S:
            return
        super().heartbeat(self.worker_ttl + 60, pipeline)
        self._last_beat = time.monotonic()

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is None and state == getattr(self, "_state", None):
            return
        super().set_state(state, pipeline)

    def _beat_for(self, job: Job | None) -> None:
        """Keep `job` alive from now on (None: no job); returns once a heartbeat in
        progress is done, so none is sent for a job after this."""
        with self._beat_lock:
            self._beating = job

    def teardown(self) -> None:
        """The work loop has ended: the sink jobs in flight finish (a warm shutdown), then
        the heartbeat thread ends (a later `work` starts another) and RQ's teardown runs,
        also when finishing the jobs failed."""
        try:
            if self.pool is not None:
                self.pool.drain()
        finally:
            if self._beats_stop is not None:
                self._beats_stop.set()
                self._beats_stop = None
            super().teardown()

    def _beat_forever(self, stop: threading.Event, pool: SinkPool) -> None:
        while not stop.wait(self.job_monitoring_interval):
            try:
                pool.beat()
                with self._beat_lock:
                    if self._beating is not None:
                        self.maintain_heartbeats(self._beating)
            except Exception:  # Redis away: the next beat tries again
                log.warning("heartbeat of the jobs in flight failed", exc_info=True)


def make_worker(services: Services, queues: list[str] | None = None) -> InloopWorker:
    install(services)
    for module in PRELOADED_JOBS:
        importlib.import_module(module)
    settings = services.settings
    chosen = [q for q in services.jobs.queues() if not queues or q.name in queues]
    worker = InloopWorker(chosen, connection=services.redis, serializer=JSONSerializer,
                          worker_ttl=settings.worker_ttl_s,
                          maintenance_interval=settings.maintenance_interval_s,
                          job_monitoring_interval=settings.job_monitoring_interval_s)
    worker.heartbeat_grace_s = settings.job_heartbeat_grace_s
    worker.concurrency = settings.worker_concurrency
    return worker


def run_worker(services: Services, queues: list[str] | None = None, *,
               burst: bool = False) -> None:
    """Work until stopped (or, with `burst`, until the queues are empty)."""
    if services.settings.retention_days:
        services.jobs.ensure_periodic("tasks.retention",
                                      datetime.now(UTC) + FIRST_RETENTION_AFTER)
    make_worker(services, queues).work(burst=burst, with_scheduler=True,
                                       dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
