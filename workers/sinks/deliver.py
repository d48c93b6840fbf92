"""The sink job: deliver one task event to one sink, record it, and retry or give up.

Each attempt is made by the transport registered for the sink's type (`TRANSPORTS`; the
protocol is in workers/sinks/base.py). Failures come back classified (see
`api.domain.events.Attempt`) and are retried by returning
`rq.Retry` with a jittered delay from the sink's schedule, or the receiver's Retry-After.
Unexpected exceptions propagate, so RQ's own retries (set at enqueue) cover them and a
killed worker; the last one is recorded as gave up (a dead work horse's by `on_failure`
or, when its worker lives on, by `on_horse_killed`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from redis import Redis
from rq import Retry, get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job

from api.domain.errors import NotFound
from api.domain.events import Attempt
from api.domain.task import Task
from api.runtime import Services, retry_schedules
from api.store.deliveries import SETTLED, DeliveryLog, delivery_id
from api.store.tasks import TaskStore, event_id
from workers.context import callback_store, services
from workers.sinks.base import Factory, SinkCall, Transport
from workers.sinks.email import EmailTransport
from workers.sinks.nats import NatsTransport
from workers.sinks.webhook import WebhookTransport

log = logging.getLogger(__name__)
SINK_JOB = "workers.sinks.deliver.deliver"
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
    if job.func_name == SINK_JOB:
        record_death(job, job.connection)


def record_death(job: Job, connection: Redis) -> None:
    """Record the attempt a dead work horse could not; `gave_up` on the job's last try."""
    store = callback_store(connection)
    try:
        record_abandoned(store, *job.args, last=not job.retries_left)
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


def jittered(seconds: int, jitter: float) -> int:
    """`seconds` give or take `jitter` (a fraction), at least 1 s."""
    factor = random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - spreading, not secrecy
    return max(1, round(seconds * factor))


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
        return self.transports[sink.type].send(call)

    def _secret(self, ref: str, index: int) -> str | None:
        stored = self.services.store.secrets(ref)  # a webhook's; None for other kinds
        return stored[index] if index < len(stored) else None

    def _settle(self, task: Task, event: str, index: int, attempt: Attempt) -> str | Retry:
        schedule = retry_schedules(self.settings)[task.sinks[index].type]
        tries = self.log.tries(delivery_id(task.ref, event, index)) + 1
        status = _status(attempt, tries, schedule)
        self.log.record(task, event, index, attempt, status)
        if status != "retrying":
            return status
        delay = jittered(schedule[tries - 1], self.settings.retry_jitter)
        if attempt.retry_after:
            # RQ schedules on whole seconds (it truncates), so a Retry-After of N s waits
            # N + 1 to never come back early. The schedule stays the floor: each 429 counts
            # a try, and a receiver's short Retry-After must not spend the budget in seconds.
            delay = max(attempt.retry_after + 1, delay)
        return Retry(max=len(schedule), interval=[delay])

    def _record_crash(self, task: Task, event: str, index: int, error: Exception) -> None:
        job = get_current_job()
        last = job is None or not job.retries_left
        attempt = Attempt(False, 0, error=f"internal error: {type(error).__name__}: {error}")
        with suppress(Exception):  # RQ still has the original error to retry or keep
            self.log.record(task, event, index, attempt, "gave_up" if last else "retrying")


def _status(attempt: Attempt, tries: int, schedule: Sequence[int]) -> str:
    if attempt.ok:
        return "delivered"
    if attempt.final or tries > len(schedule):
        return "gave_up"
    return "retrying"
