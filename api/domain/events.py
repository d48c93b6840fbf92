"""Sink events: the JSON body every sink receives when a task ends, and the outcome of one
attempt to deliver it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.domain.task import Task
from api.store.tasks import event_id

EVENT_TYPES = {"completed": "task.completed", "cancelled": "task.cancelled",
               "failed": "task.failed"}
TASK_FIELDS = ("task_id", "status", "title", "data", "completed_at", "completed_by", "errors",
               "cancel_reason", "corr_id", "process_id", "process_step", "payload")


def event_body(task: Task, event: str) -> dict[str, Any]:
    """The event for `task` having ended with `event`; `id` is stable across redeliveries.

    `created_at` is when the task ended (`ended_at`, set by the transition itself).
    """
    shown = task.model_dump(mode="json", include=set(TASK_FIELDS))
    return {"id": event_id(task.ref, event), "type": EVENT_TYPES[event],
            "created_at": task.model_dump(mode="json", include={"ended_at"})["ended_at"],
            "task": {name: shown[name] for name in TASK_FIELDS}}


@dataclass(frozen=True)
class Attempt:
    """The outcome of one delivery attempt. `final` failures are not retried (410, refused).
    `detail` says how a success went where that matters (NATS: the JetStream ack or not)."""

    ok: bool
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    retry_after: int | None = None
    final: bool = False
    detail: str | None = None
