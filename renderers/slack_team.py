"""The team parts of a task's Slack messages (issue 12): who responded and who is still
waiting, the claim, the reader's own response, and the Claim / Release / Reassign controls.

Every message of a task is rendered for its reader (`Audience`): an assignee's DM says
"You approved — waiting for 1 more" where a channel message shows only the progress.
With 50 assignees the names are cut with "+N more" so each text stays far within
Slack's 3000 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.domain.approval import Assignee, Response, progress, required_count
from api.domain.task import Task
from renderers.slack_blocks import Block, button, escaped, plain, section, slack_date
from renderers.slack_ids import (
    ACTION_CLAIM,
    ACTION_MENU,
    ACTION_RELEASE,
    MENU_REASSIGN,
    menu_value,
)

NAME_TEXT = 40  # one person's name in a progress line
PROGRESS_TEXT = 1200  # the names of a progress line, before "+N more"
SEPARATOR = " · "
MARKS = {"approve": "✅", "reject": "❌", None: "✅"}
WAITING = "⏳"
VERBS = {"approve": "approved", "reject": "rejected", None: "responded"}


@dataclass(frozen=True)
class Audience:
    """Who reads one Slack message of a task, and what the message says beside the task.

    `assignee` is the `Assignee.key` of the DM's reader (None: a channel message), `user`
    their Slack user id; `creator` is the name "From:" shows (the member id without it);
    `moved` replaces the task by a note once the reader's place went to someone else
    ("Reassigned to Y by X"). `channel` marks a channel's message, which carries no link
    to the web form: anyone in the channel reads it, and the link answers the task."""

    assignee: str | None = None
    user: str | None = None
    creator: str | None = None
    moved: str | None = None
    channel: bool = False


def is_team(task: Task) -> bool:
    """Shown as a team task: created with `assignees` or `approval`, or more than one
    assignee (an HPI task for one person looks as it always did)."""
    return task.is_team or len(task.assignees) > 1


def assignees_of(task: Task) -> list[Assignee]:
    """The task's assignees; a task stored before teams names its one by its fields."""
    if task.assignees or not task.assignee_email:
        return list(task.assignees)
    return [Assignee(member_id=task.assignee_member_id, email=task.assignee_email,
                     name=task.assignee_name)]


def display_name(assignee: Assignee) -> str:
    return assignee.name or assignee.email or assignee.member_id or "someone"


def _entry(mark: str, name: str) -> str:
    return f"{mark} {escaped(name, NAME_TEXT)}"


def _entries(task: Task) -> list[str]:
    """Responded first (in response order), then the people still waiting."""
    answered: list[tuple[Response, str]] = []
    waiting: list[str] = []
    for assignee, response in progress(task):
        if response is None:
            waiting.append(_entry(WAITING, display_name(assignee)))
        else:
            answered.append((response, display_name(assignee)))
    answered += [(r, r.by.name) for r in task.responses if r.assignee is None]
    answered.sort(key=lambda pair: pair[0].at)
    return [_entry(MARKS[r.decision], name) for r, name in answered] + waiting


def progress_line(task: Task, budget: int = PROGRESS_TEXT) -> str:
    """"✅ Alice · ❌ Bob · ⏳ Carol", cut with "+N more" past `budget` characters."""
    entries, shown, size = _entries(task), [], 0
    for entry in entries:
        if size + len(entry) + len(SEPARATOR) > budget:
            break
        shown.append(entry)
        size += len(entry) + len(SEPARATOR)
    more = len(entries) - len(shown)
    return SEPARATOR.join(shown) + (f" +{more} more" if more else "")


def counted(task: Task) -> int:
    """Responses counting towards `required` (a reject ends the task instead)."""
    return sum(1 for r in task.responses if r.decision != "reject")


def count_line(task: Task) -> str:
    """"*1 of 2 approvals*" (or responses, without a decision field)."""
    noun = "approvals" if task.approval and task.approval.decision_field else "responses"
    return f"*{counted(task)} of {required_count(task.approval, task.assignees)} {noun}*"


def own_response(task: Task, audience: Audience) -> Response | None:
    if audience.assignee is None:
        return None
    return next((r for r in task.responses if r.assignee == audience.assignee), None)


def own_line(response: Response, task: Task) -> str:
    """The responder's own message: "You approved — waiting for 1 more"."""
    verb = VERBS[response.decision]
    left = required_count(task.approval, task.assignees) - counted(task)
    if task.open and left > 0:
        return f"You {verb} — waiting for {left} more"
    return f"You {verb}"


def claim_line(task: Task) -> str | None:
    claim = task.claimed_by
    if claim is None:
        return None
    return (f":lock: Claimed by *{escaped(claim.name, 200)}* {slack_date(claim.at)}: "
            "nobody else can answer until it is released")


def holds_claim(task: Task, audience: Audience) -> bool:
    """Whether this DM's reader holds the task's claim (by Slack user or member id)."""
    claim = task.claimed_by
    if claim is None or audience.assignee is None:
        return False
    return claim.id in {audience.user, audience.assignee.partition(":")[2]}


def may_answer_here(task: Task, audience: Audience) -> bool:
    """Whether the message keeps its answer buttons: not once the reader responded, nor
    in a DM while someone else holds the claim (a channel message keeps them for
    whoever holds it; the bot refuses the others)."""
    if own_response(task, audience) is not None:
        return False
    return audience.assignee is None or task.claimed_by is None or holds_claim(task, audience)


def claimable(task: Task) -> bool:
    """Claim and Release: channel tasks, and tasks for several people of whom one answers."""
    single = required_count(task.approval, task.assignees) == 1
    return bool(task.slack_channel) or (len(task.assignees) > 1 and single)


def team_controls(task: Task, audience: Audience) -> list[dict[str, Any]]:
    """Claim or Release, and the overflow menu with Reassign (for the actions block)."""
    controls: list[dict[str, Any]] = []
    if claimable(task) and own_response(task, audience) is None:
        if task.claimed_by is None:
            controls.append(button("Claim", ACTION_CLAIM, value=task.ref))
        elif audience.assignee is None or holds_claim(task, audience):
            controls.append(button("Release", ACTION_RELEASE, value=task.ref))
    if task.assignees:
        option = {"text": plain("Reassign…", 75), "value": menu_value(task.ref, MENU_REASSIGN)}
        controls.append({"type": "overflow", "action_id": ACTION_MENU, "options": [option]})
    return controls


def team_status(task: Task, audience: Audience) -> list[str]:
    """The lines a pending team task shows above its buttons."""
    response = own_response(task, audience)
    lines = [count_line(task), progress_line(task)]
    if response is not None:
        lines.insert(0, f"*{own_line(response, task)}*")
    claim = claim_line(task)
    if claim:
        lines.append(claim)
    return [line for line in lines if line]


def outcome_lines(task: Task) -> list[str]:
    """What an ended team task shows under its status: the count and everyone's response."""
    if not task.responses and not task.assignees:
        return []
    return [count_line(task), progress_line(task)]


def moved_note(to: str, by: str | None) -> str:
    """The note on the message of someone whose place went to `to` (plain text)."""
    return f"Reassigned to {to}" + (f" by {by}" if by else "")


def moved_blocks(audience: Audience) -> list[Block]:
    note = escaped(audience.moved or "Reassigned", 1000)
    return [section(f":arrow_right: {note}. This task is no longer yours to answer.")]
