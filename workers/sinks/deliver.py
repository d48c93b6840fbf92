"""The sink job: deliver one task event to one sink, record it, and retry or give up.

Each attempt is made by the transport registered for the sink's type (`TRANSPORTS`; the
protocol is in workers/sinks/base.py). Failures come back classified (see
`api.domain.events.Attempt`) and are retried by returning `rq.Retry` as
`api.store.jobs.RetryPolicy` decides (the sink's schedule, Retry-After).
Unexpected exceptions propagate, so RQ's own retries (set at enqueue) cover them and a
killed worker; the last one is recorded as gave up (a dead work horse's by `on_failure`
or, when its worker lives on, by `on_horse_killed`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from redis import Redis
from rq import Retry, get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job

from api import logs, metrics
from api.domain.errors import NotFound
from api.domain.events import Attempt, event_id
from api.domain.task import Task
from api.runtime import Services
from api.store.deliveries import SETTLED, DeliveryLog, delivery_id
from api.store.jobs import SINK_PATH
from api.store.tasks import TaskStore
from workers.context import services
from workers.sinks.base import Factory, SinkCall, Transport
from workers.sinks.email import EmailTransport
from workers.sinks.nats import NatsTransport
from workers.sinks.webhook import WebhookTransport

log = logging.getLogger(__name__)
# The transport of each sink type (the `Sink` discriminator's values), built from settings.
TRANSPORTS: dict[str, Factory] = {"webhook": WebhookTransport, "nats": NatsTransport,
                                  "email": EmailTransport}


def deliver(ref: str, event: str, sink_index: int) -> str | Retry:
    """RQ entry point (`workers.sinks.deliver.deliver`)."""
    return SinkDelivery(services()).run(ref, event, sink_index)


def on_failure(job: Job, connection: Redis, exc_type: type[BaseException],
               *_exc_info: Any) -> None:
    """RQ failure callback of sink jobs (`workers.sinks.deliver.on_failure`).

    Records a work horse that died along with its worker (AbandonedJobError, found by RQ's
    registry cleanup in whichever process runs it), so a delivery RQ gives up on is listed
    as gave up; any other exception was recorded by the job itself."""
    if issubclass(exc_type, AbandonedJobError):
        record_death(job, connection)


def on_horse_killed(job: Job, _pid: int, _status: int, _rusage: Any) -> None:
    """The worker's `work_horse_killed_handler`: a horse killed under a living worker
    (SIGKILL, OOM) never reaches the failure callback, so it is recorded here."""
    if job.func_name == SINK_PATH:
        record_death(job, job.connection)


def record_death(job: Job, connection: Redis) -> None:
    """Record the attempt a dead work horse could not; `gave_up` on the job's last try."""
    try:
        record_abandoned(services().store, *job.args, last=not job.retries_left)
    except Exception:  # RQ's failure handling must go on: the job still lands in its registries
        log.exception("could not record the abandoned sink job %s", job.id)


def record_abandoned(store: TaskStore, ref: str, event: str, index: int, *,
                     last: bool) -> None:
    deliveries = DeliveryLog(store)
    if deliveries.status(delivery_id(ref, event, index)) in SETTLED:
        return  # the horse died after the outcome was recorded
    attempt = Attempt(False, 0, error="internal error: the worker died during the delivery")
    deliveries.record(store.load(ref), event, index, attempt,
                      "gave_up" if last else "retrying")


class SinkDelivery:
    def __init__(self, services: Services,
                 transports: Mapping[str, Transport] | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.log = DeliveryLog(services.store)
        self.transports = transports or {kind: make(self.settings)
                                         for kind, make in TRANSPORTS.items()}

    def run(self, ref: str, event: str, index: int) -> str | Retry:
        try:
            task = self.services.store.load(ref)
        except NotFound:
            return "task not found"
        with logs.bind(**logs.task_fields(task)):
            return self._deliver(task, event, index)

    def _deliver(self, task: Task, event: str, index: int) -> str | Retry:
        ref = task.ref
        if self.log.status(delivery_id(ref, event, index)) == "delivered":
            return "already delivered"
        try:
            attempt = self.attempt(task, event, index)
        except Exception as error:
            self._record_crash(task, event, index, error)
            raise
        return self._settle(task, event, index, attempt)

    def attempt(self, task: Task, event: str, index: int) -> Attempt:
        """One delivery attempt to the sink, by the transport of its type, classified."""
        sink = task.sinks[index]
        call = SinkCall(task, event, sink, self.log.body(task, event),
                        event_id(task.ref, event), self._secret(task.ref, index))
        with metrics.DELIVERY_SECONDS.labels(sink.type).time():
            attempt = self.transports[sink.type].send(call)
        metrics.DELIVERIES.labels(sink.type, _result(attempt)).inc()
        return attempt

    def _secret(self, ref: str, index: int) -> str | None:
        stored = self.services.store.secrets(ref)  # a webhook's; None for other kinds
        return stored[index] if index < len(stored) else None

    def _settle(self, task: Task, event: str, index: int, attempt: Attempt) -> str | Retry:
        tries = self.log.tries(delivery_id(task.ref, event, index)) + 1
        retry = None if attempt.ok or attempt.final else self.services.jobs.policy.next(
            "sink." + task.sinks[index].type, tries, attempt.retry_after)
        status = "delivered" if attempt.ok else "retrying" if retry else "gave_up"
        self.log.record(task, event, index, attempt, status)
        return retry or status

    def _record_crash(self, task: Task, event: str, index: int, error: Exception) -> None:
        job = get_current_job()
        last = job is None or not job.retries_left
        attempt = Attempt(False, 0, error=f"internal error: {type(error).__name__}: {error}")
        with suppress(Exception):  # RQ still has the original error to retry or keep
            self.log.record(task, event, index, attempt, "gave_up" if last else "retrying")


def _result(attempt: Attempt) -> str:
    """The attempt's outcome for the metrics: ok, failed (will retry) or final."""
    return "ok" if attempt.ok else "final" if attempt.final else "failed"
