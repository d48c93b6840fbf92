"""The sink job: deliver one task event to one sink, record it, and retry or give up.

Each attempt is made by the transport registered for the sink's type (`TRANSPORTS`; the
protocol is in workers/sinks/base.py). Failures come back classified (see
`api.domain.events.Attempt`) and are retried by returning `rq.Retry` as
`api.store.jobs.RetryPolicy` decides (the sink's schedule, Retry-After).
Unexpected exceptions (a job timeout too) propagate, so RQ's own retries (set at enqueue)
cover them and a killed worker; the last one is recorded as gave up (a killed worker's by
`on_failure`).
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
from api.store.deliveries import SETTLED, DeliveryLog, Pending, delivery_id
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
_kept: list[SinkDelivery] = []


def deliver(ref: str, event: str, sink_index: int) -> str | Retry:
    """RQ entry point (`workers.sinks.deliver.deliver`)."""
    return _delivery().run(ref, event, sink_index)


def _delivery() -> SinkDelivery:
    """The process's SinkDelivery, kept across jobs so its transports' connections are
    reused; rebuilt when other services are installed (tests install their own)."""
    current = services()
    if not _kept or _kept[0].services is not current:
        _kept[:] = [SinkDelivery(current)]
    return _kept[0]


def on_failure(job: Job, connection: Redis, exc_type: type[BaseException],
               *_exc_info: Any) -> None:
    """RQ failure callback of sink jobs (`workers.sinks.deliver.on_failure`).

    Records the attempt of a worker that died mid-job, or of a job past its timeout
    (AbandonedJobError, found by RQ's registry cleanup in whichever process runs it; see
    workers/concurrent.py), `gave_up` on the job's last try, so a
    delivery RQ gives up on is listed as gave up; any other exception was recorded by the
    job itself."""
    if not issubclass(exc_type, AbandonedJobError):
        return
    try:
        record_abandoned(services().store, *job.args, last=not job.retries_left)
    except Exception:  # RQ's failure handling must go on: the job still lands in its registries
        log.exception("could not record the abandoned sink job %s", job.id)


def record_abandoned(store: TaskStore, ref: str, event: str, index: int, *,
                     last: bool) -> None:
    deliveries = DeliveryLog(store)
    if deliveries.status(delivery_id(ref, event, index)) in SETTLED:
        return  # the worker died after the outcome was recorded
    attempt = Attempt(False, 0, error="internal error: the delivery was abandoned (its worker "
                      "died, or it outlived the job's timeout)")
    deliveries.record(store.load(ref), event, index, attempt,
                      "gave_up" if last else "retrying")


class SinkDelivery:
    """Delivers with transports built once (a worker process keeps one instance, so
    connections are reused across jobs; see `deliver`)."""

    def __init__(self, services: Services,
                 transports: Mapping[str, Transport] | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.log = DeliveryLog(services.store)
        self.transports = transports or {kind: make(self.settings)
                                         for kind, make in TRANSPORTS.items()}

    def run(self, ref: str, event: str, index: int) -> str | Retry:
        try:
            pending = self.log.pending(ref, event, index)
        except NotFound:
            return "task not found"
        with logs.bind(**logs.task_fields(pending.task)):
            return self._deliver(pending)

    def _deliver(self, pending: Pending) -> str | Retry:
        if pending.status == "delivered":
            return "already delivered"
        try:
            attempt = self._send(pending)
        except Exception as error:
            self._record_crash(pending, error)
            raise
        return self._settle(pending, attempt)

    def attempt(self, task: Task, event: str, index: int) -> Attempt:
        """One delivery attempt to the sink, by the transport of its type, classified."""
        return self._send(self.log.pending(task.ref, event, index))

    def _send(self, pending: Pending) -> Attempt:
        task, sink = pending.task, pending.task.sinks[pending.index]
        call = SinkCall(task, pending.event, sink, pending.body,
                        event_id(task.ref, pending.event), pending.secret)
        with metrics.DELIVERY_SECONDS.labels(sink.type).time():
            attempt = self.transports[sink.type].send(call)
        metrics.DELIVERIES.labels(sink.type, _result(attempt)).inc()
        return attempt

    def _settle(self, pending: Pending, attempt: Attempt) -> str | Retry:
        task, event, index = pending.task, pending.event, pending.index
        retry = None if attempt.ok or attempt.final else self.services.jobs.policy.next(
            "sink." + task.sinks[index].type, pending.tries + 1, attempt.retry_after)
        status = "delivered" if attempt.ok else "retrying" if retry else "gave_up"
        if not attempt.ok:  # logged inside `run`'s binding: the line names the task
            log.warning("%s delivery of the %s event failed (%s): %s",
                        task.sinks[index].type, event, attempt.error, status)
        if not self.log.record(task, event, index, attempt, status, pending.outcomes):
            return "superseded"  # a later run of this delivery recorded first: its outcome stands
        return retry or status

    def _record_crash(self, pending: Pending, error: Exception) -> None:
        job = get_current_job()
        last = job is None or not job.retries_left
        attempt = Attempt(False, 0, error=f"internal error: {type(error).__name__}: {error}")
        with suppress(Exception):  # RQ still has the original error to retry or keep
            self.log.record(pending.task, pending.event, pending.index, attempt,
                            "gave_up" if last else "retrying", pending.outcomes)


def _result(attempt: Attempt) -> str:
    """The attempt's outcome for the metrics: ok, failed (will retry) or final."""
    return "ok" if attempt.ok else "final" if attempt.final else "failed"
