"""`inloop worker`: an RQ worker on every queue, with the scheduler for delayed jobs.

Jobs run in the worker process itself, without a fork per job (`InloopWorker`): a fork
and a fresh work horse cost more than most jobs (a webhook delivery), and a kept process
keeps its connections (Redis, receivers) warm. What the work horse gave is kept: a job
past its timeout is stopped (RQ's SIGALRM death penalty, in the worker's main thread), a
job's exception fails only that job, and a heartbeat thread keeps a long job's entry in
RQ's StartedJobRegistry alive, so a worker killed mid-job (SIGKILL, OOM) has its job
retried within the monitoring interval plus the grace. A worker that died is restarted
by whatever runs it (the platform's process manager, systemd, `inloop dev`).

Queues are served round-robin, not in strict priority order: a backlog of webhooks to a
hanging receiver must not starve the NATS and email sinks (or expiry and Slack jobs)."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.worker import DequeueStrategy

from api.runtime import Services
from api.store.jobs import JOBS
from workers.context import install

log = logging.getLogger(__name__)
RQ_HEARTBEAT_GRACE_S = 60
HEARTBEAT_EVERY_S = 5  # the worker's own key (TTL worker_ttl + 60) is refreshed this often
FIRST_RETENTION_AFTER = timedelta(minutes=1)
# Imported once at start: a job's first run must not pay its imports (~0.3 s for sinks).
PRELOADED_JOBS = sorted({job.path.rsplit(".", 1)[0] for job in JOBS.values()})


class InloopWorker(SimpleWorker):
    """An RQ SimpleWorker (no fork) with a heartbeat thread per job, a heartbeat grace
    that is a setting, and no Redis write that changes nothing (a heartbeat of the worker
    key seconds after the last, an IDLE state when it is IDLE already)."""

    heartbeat_grace_s = RQ_HEARTBEAT_GRACE_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._beating: Job | None = None  # the job the heartbeat thread keeps alive
        self._beat_lock = threading.Lock()
        self._beats_stop: threading.Event | None = None  # set: the beater thread ends
        self._last_beat = (0.0, 0)  # monotonic time, TTL of the last worker-key heartbeat
        self._job_started = time.monotonic()

    def execute_job(self, job: Job, queue: Queue) -> None:
        self._job_started = time.monotonic()
        self.prepare_execution(job)
        self._beat_for(job)
        try:
            self.perform_job(job, queue)
        finally:
            self._beat_for(None)
        self.set_state("idle")

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        # The job is done: no heartbeat may re-add it to the StartedJobRegistry after RQ
        # removes it (a stale entry would later be taken for an abandoned job).
        self._beat_for(None)
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def get_heartbeat_ttl(self, job: Job) -> int:
        """Until the next heartbeat (the monitoring interval) plus the grace: a killed
        worker's job is seen abandoned that long after its last heartbeat."""
        working = time.monotonic() - self._job_started
        left = job.timeout - working if job.timeout and job.timeout > 0 else float("inf")
        return int(max(min(left, self.job_monitoring_interval), 0)) + self.heartbeat_grace_s

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        ttl = timeout or self.worker_ttl + 60
        last_at, last_ttl = self._last_beat
        if pipeline is None and ttl == last_ttl and time.monotonic() - last_at < \
                HEARTBEAT_EVERY_S:
            return
        super().heartbeat(timeout, pipeline)
        self._last_beat = (time.monotonic(), ttl)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is None and state == getattr(self, "_state", None):
            return
        super().set_state(state, pipeline)

    def _beat_for(self, job: Job | None) -> None:
        """Keep `job` alive from now on (None: no job); returns once a heartbeat in
        progress is done, so none is sent for a job after this."""
        with self._beat_lock:
            self._beating = job
        if job is not None and self._beats_stop is None:
            self._beats_stop = stop = threading.Event()
            threading.Thread(target=self._beat_forever, args=(stop,), daemon=True,
                             name=f"rq-heartbeat-{self.name}").start()

    def teardown(self) -> None:
        """The work loop has ended: so does the heartbeat thread (a later `work` starts
        another)."""
        if self._beats_stop is not None:
            self._beats_stop.set()
            self._beats_stop = None
        super().teardown()

    def _beat_forever(self, stop: threading.Event) -> None:
        while not stop.wait(self.job_monitoring_interval):
            with self._beat_lock:
                if self._beating is None:
                    continue
                try:
                    self.maintain_heartbeats(self._beating)
                except Exception:  # Redis away: the next beat tries again
                    log.warning("heartbeat of job %s failed", self._beating.id, exc_info=True)


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
    return worker


def run_worker(services: Services, queues: list[str] | None = None, *,
               burst: bool = False) -> None:
    """Work until stopped (or, with `burst`, until the queues are empty)."""
    if services.settings.retention_days:
        services.jobs.ensure_periodic("tasks.retention",
                                      datetime.now(UTC) + FIRST_RETENTION_AFTER)
    make_worker(services, queues).work(burst=burst, with_scheduler=True,
                                       dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
