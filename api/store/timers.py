"""What a team task schedules when it is created: the first reminder, the escalation and
the email with its link. Each is a catalogue job added to the creation's MULTI; each job
checks when it runs that the task is still open and in the state it was meant for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from api.domain.task import Task
from api.store.jobs import AnyPipeline, Jobs


def later(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)


def on_create(jobs: Jobs, pipe: AnyPipeline, task: Task, mail: Sequence[str]) -> None:
    if task.remind is not None:
        jobs.enqueue(pipe, "task.remind", task.ref, 1,
                     at=later(task.created_at, task.remind.after))
    if task.escalate is not None:
        jobs.enqueue(pipe, "task.escalate", task.ref,
                     at=later(task.created_at, task.escalate.after))
    mail_links(jobs, pipe, task.ref, mail, "assigned")


def mail_links(jobs: Jobs, pipe: AnyPipeline, ref: str, addresses: Sequence[str],
               kind: str) -> None:
    """Email the task's link to each address (`kind`: assigned, reminder, escalated,
    reassigned)."""
    for address in addresses:
        jobs.enqueue(pipe, "email.task_link", ref, address, kind, kind=kind)
