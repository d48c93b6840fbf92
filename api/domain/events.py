"""Sink events: the JSON body every sink receives when a task ends (or, opted in, when a
multi-response task records a response), and the outcome of one attempt to deliver it.
Pure."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from api.domain.task import Task

EVENT_TYPES = {"completed": "task.completed", "cancelled": "task.cancelled",
               "failed": "task.failed"}
TASK_FIELDS = ("task_id", "status", "title", "data", "completed_at", "completed_by", "errors",
               "cancel_reason", "corr_id", "process_id", "process_step", "payload",
               "outcome", "responses")
RESPONDED = "responded"  # its events are "responded:{n}", n counting the responses from 1
EVENT_NAMESPACE = uuid.UUID("6f1f6c0e-3c55-4b8e-9d0a-1a4b8f3f1e11")


@functools.lru_cache(maxsize=4096)
def event_id(ref: str, event: str) -> str:
    """Stable id of a task event: the same on every retry and redelivery (the task's ref,
    not its task_id, so two orgs' tasks never share one). Cached like `task_ref`: a
    delivery asks three times."""
    return "evt_" + uuid.uuid5(EVENT_NAMESPACE, f"{ref}:{event}").hex


def responded_event(n: int) -> str:
    return f"{RESPONDED}:{n}"


def event_kind(event: str) -> str:
    """completed, cancelled, failed or responded (of `responded:{n}`)."""
    return event.partition(":")[0]


def event_body(task: Task, event: str) -> dict[str, Any]:
    """The event for `task` having ended with `event` (or its response number n, for
    `responded:{n}`); `id` is stable across redeliveries.

    `created_at` is when the task ended (`ended_at`, set by the transition itself), or when
    the response came; a responded event carries that `response` too.
    """
    shown = task.model_dump(mode="json", include=set(TASK_FIELDS))
    body = {"id": event_id(task.ref, event), "type": f"task.{event_kind(event)}",
            "created_at": task.model_dump(mode="json", include={"ended_at"})["ended_at"],
            "task": {name: shown[name] for name in TASK_FIELDS}}
    if event_kind(event) == RESPONDED:
        response = shown["responses"][int(event.partition(":")[2]) - 1]
        body.update(created_at=response["at"], response=response)
    return body


def event_json(task: Task, event: str) -> str:
    """`event_body` as every sink sends it: compact JSON."""
    return json.dumps(event_body(task, event), separators=(",", ":"))


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
