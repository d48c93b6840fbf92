"""Short notes the bot tells one person (ephemeral or in its DM).

Slack reads a note's text as mrkdwn, so text from people (a cancel reason, a name) is
escaped: a reason of `<!channel>` must not notify a channel, nor `<https://…|x>` link.
"""

from __future__ import annotations

from datetime import datetime

from api.domain.errors import InloopError
from api.domain.task import Task
from renderers.slack_blocks import escaped, link

NOT_YOURS = "This task is not assigned to you, so nothing was changed."
GONE = "This task no longer exists."
STALE_FORM = "This form does not match the task. Please open the task again."
NOT_INSTALLED = ("inloop is not connected to this Slack workspace yet, so it cannot answer "
                 "here. An inloop admin can connect it under *Settings → Slack* in the "
                 "inloop dashboard.")
FORM_NOT_OPENED = "Slack could not open the form this time. Please click *Open form* again."


def web_link(task: Task) -> str:
    """The web form's link, for someone who may answer (only they see the note)."""
    return (f"{link(task.url, 'Open the task in your browser')}. The link answers the "
            "task, so please keep it to yourself.")


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def ended(task: Task) -> str:
    """Why a task cannot be answered any more."""
    if task.status == "completed":
        who = escaped(task.completed_by.name, 200) if task.completed_by else "someone"
        return f"Already completed by {who} at {when(task.completed_at)}."
    if task.status == "cancelled":
        reason = f" ({escaped(task.cancel_reason, 500)})" if task.cancel_reason else ""
        return f"This task was cancelled{reason}."
    if any(e.code == "expired" for e in task.errors):
        return "This task expired before anyone answered it."
    return "This task can no longer be answered."


def refused(task: Task, error: InloopError) -> str:
    """Why the service refused what someone did to a task: it ended, or (still open) the
    service's reason (already responded, claimed by someone else, not an assignee)."""
    if not task.open:
        return ended(task)
    return f"Nothing was changed: {escaped(error.message or 'not allowed', 500)}."
