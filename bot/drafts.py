"""Whose draft a Slack user works on between the steps of a modal.

The one assignee of a task has one draft, shared with the web form (`api.store.drafts`):
a task started in Slack continues in the browser. Anyone else (a channel member, or one
of several assignees, who each respond for themselves) has a draft of their own: one
person's partial answers never prefill another's modal, nor complete it in their name.
"""

from __future__ import annotations

from typing import Any

from api.domain.errors import Conflict
from api.domain.task import Task
from api.runtime import Services
from api.store.slack import SlackState
from bot.access import current_assignee
from renderers.slack_team import assignees_of


def _shared(state: SlackState, task: Task, user_id: str) -> bool:
    if len(assignees_of(task)) > 1:
        return False
    return not task.slack_channel or current_assignee(task, state.assignee(task.ref, user_id))


def load_draft(services: Services, task: Task, user_id: str) -> dict[str, Any]:
    state = SlackState(services.redis)
    if _shared(state, task, user_id):
        return services.drafts.load(task.ref)
    return state.load_draft(task.ref, user_id)


def save_draft(services: Services, task: Task, user_id: str,
               answers: dict[str, Any]) -> dict[str, Any]:
    """Merge `answers` into the user's draft of an open task (Conflict once it ended,
    NotFound once deleted); the whole draft."""
    state = SlackState(services.redis)
    if _shared(state, task, user_id):
        return services.drafts.save(task.ref, answers)
    current = services.store.load(task.ref)
    if not current.open:
        raise Conflict(f"the task is {current.status}")
    return state.save_draft(task.ref, user_id, answers)
