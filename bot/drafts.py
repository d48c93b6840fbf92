"""Whose draft a Slack user works on between the steps of a modal.

The assignee has one draft, shared with the web form (`api.store.drafts`): a task
started in Slack continues in the browser. Anyone else answering a channel task has a
draft of their own: one member's partial answers never prefill another's modal, nor
complete the task in their name.
"""

from __future__ import annotations

from typing import Any

from api.domain.errors import Conflict
from api.domain.task import Task
from api.runtime import Services
from api.store.slack import SlackState


def _shared(state: SlackState, task: Task, user_id: str) -> bool:
    return not task.slack_channel or state.assignee(task.ref) == user_id


def load_draft(services: Services, task: Task, user_id: str) -> dict[str, Any]:
    state = SlackState(services.redis)
    if _shared(state, task, user_id):
        return services.drafts.load(task.ref)
    return state.load_draft(task.ref, user_id)


def save_draft(services: Services, task: Task, user_id: str,
               answers: dict[str, Any]) -> dict[str, Any]:
    """Merge `answers` into the user's draft of a pending task (Conflict once it ended,
    NotFound once deleted); the whole draft."""
    state = SlackState(services.redis)
    if _shared(state, task, user_id):
        return services.drafts.save(task.ref, answers)
    status = services.store.load(task.ref).status
    if status != "pending":
        raise Conflict(f"the task is {status}")
    return state.save_draft(task.ref, user_id, answers)
