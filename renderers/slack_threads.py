"""What team tasks add to Slack beside their messages (issue 12): the Reassign modal, and
the thread replies under a task's messages (reminders, reassignments, escalations,
progress notes), which mention people by their Slack user id.

Thread replies are plain `text` (mrkdwn): names from people are escaped, so a name of
`<!channel>` notifies nobody; mentions are written only from well-formed Slack ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from api.domain.approval import Response
from api.domain.task import Task
from renderers.slack_blocks import escaped, plain
from renderers.slack_ids import (
    CALLBACK_REASSIGN,
    REASSIGN_REASON,
    REASSIGN_TO,
    VALUE_ACTION,
    reassign_metadata,
)
from renderers.slack_team import NAME_TEXT, VERBS, count_line

MENTIONS = 50  # at most this many people are mentioned in one reply (an assignee list's size)
REASON_TEXT = 500
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def reassign_view(task: Task) -> dict[str, Any]:
    """The small modal that hands the reader's place to someone else."""
    person = {"type": "input", "block_id": REASSIGN_TO, "optional": False,
              "label": plain("Reassign to", 2000),
              "element": {"type": "users_select", "action_id": VALUE_ACTION,
                          "placeholder": plain("Choose a person", 150)}}
    reason = {"type": "input", "block_id": REASSIGN_REASON, "optional": True,
              "label": plain("Reason", 2000),
              "element": {"type": "plain_text_input", "action_id": VALUE_ACTION,
                          "max_length": REASON_TEXT}}
    intro = {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"*{escaped(task.title, 2000)}*"}}
    return {"type": "modal", "callback_id": CALLBACK_REASSIGN,
            "private_metadata": reassign_metadata(task.ref), "title": plain("Reassign", 24),
            "submit": plain("Reassign", 24), "close": plain("Cancel", 24),
            "blocks": [intro, person, reason]}


def mention(user_id: str) -> str | None:
    return f"<@{user_id}>" if _USER_ID.match(user_id) else None


def people(user_ids: Sequence[str], names: Sequence[str] = ()) -> str:
    """Mentions of the users, then the names of people Slack does not know, cut with
    "+N more" past MENTIONS."""
    shown = [m for m in map(mention, user_ids) if m] + [escaped(n, NAME_TEXT) for n in names]
    more = len(shown) - MENTIONS
    return ", ".join(shown[:MENTIONS]) + (f" +{more} more" if more > 0 else "")


def reminder_text(task: Task, user_ids: Sequence[str], names: Sequence[str] = ()) -> str:
    """A reminder under a message: who has still to respond, and the count so far."""
    return (f":bell: Reminder: *{escaped(task.title, 200)}* is waiting for "
            f"{people(user_ids, names)}. {count_line(task)} so far.")


def progress_text(task: Task, response: Response, name: str) -> str:
    """A note in the thread of a channel message after each response."""
    return f"{escaped(name, NAME_TEXT)} {VERBS[response.decision]} · {count_line(task)}"


def reassigned_text(to: str, by: str | None, reason: str | None) -> str:
    """`to` is a mention or an escaped name."""
    who = f" by {escaped(by, NAME_TEXT)}" if by else ""
    why = f" ({escaped(reason, REASON_TEXT)})" if reason else ""
    return f":arrow_right: Reassigned to {to}{who}{why}."


def escalated_text(to: str) -> str:
    return f":rotating_light: Escalated: {to} now asked to answer."

