"""The App Home tab: the person's open tasks (pending or claimed), newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.domain.task import Task
from renderers.slack_blocks import Block, button, context, escaped, header, slack_date
from renderers.slack_ids import ACTION_OPEN
from renderers.slack_message import PRIORITY

MAX_TASKS = 45  # two blocks each within the home tab's 100


def home_view(tasks: list[Task]) -> dict[str, Any]:
    """The App Home view listing the open tasks among `tasks` (a claimed task, in
    progress, still waits for an answer)."""
    pending = sorted((t for t in tasks if t.open), key=_created, reverse=True)
    blocks: list[Block] = [header("Your tasks")]
    if not pending:
        blocks.append(context("Nothing is waiting for you. New tasks show up here and in DMs."))
    for task in pending[:MAX_TASKS]:
        blocks.extend(_task_row(task))
    if len(pending) > MAX_TASKS:
        blocks.append(context(f"… and {len(pending) - MAX_TASKS} more open tasks."))
    return {"type": "home", "blocks": blocks}


def _created(task: Task) -> datetime:
    moment = task.created_at
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _task_row(task: Task) -> list[Block]:
    open_button = button("Open", ACTION_OPEN, value=task.ref)
    title = {"type": "mrkdwn", "text": f"*{escaped(task.title, 500)}*"}
    details = [f"*Priority:* {PRIORITY[task.priority]}", f"Created {slack_date(task.created_at)}"]
    if task.due_at:
        details.append(f"*Due:* {slack_date(task.due_at)}")
    return [{"type": "section", "text": title, "accessory": open_button}, context(*details)]
