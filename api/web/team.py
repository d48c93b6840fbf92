"""Teams of approvers on the web (issue 12): who has responded, the claim, and what a
visitor of a team task's form may do. The form and the dashboard's task page share the
views; the rules themselves live in api.approvals and api.store.approvals."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.domain.approval import Assignee, progress, required_count
from api.domain.errors import Conflict, Forbidden
from api.domain.task import Task
from api.domain.teams import responder
from api.runtime import SERVICES
from api.web.access import Visitor
from api.web.pages import message
from api.web.session import CSRF_FIELD, csrf_ok

DECISIONS = {"approve": "approved", "reject": "rejected"}


def shown(assignee: Assignee) -> str:
    return assignee.name or assignee.email or assignee.member_id or "someone"


def progress_rows(task: Task) -> list[dict[str, Any]]:
    """Per assignee, in order: their name, whether they responded, and how."""
    return [{"name": shown(a), "done": r is not None,
             "decision": DECISIONS.get(r.decision or "", "responded") if r else "waiting",
             "at": r.at.strftime("%Y-%m-%d %H:%M UTC") if r else "",
             "on_behalf": bool(r and r.by.on_behalf)} for a, r in progress(task)]


def summary(task: Task) -> str:
    """"1 of 2 approvals" (or responses, without a decision field)."""
    needed = required_count(task.approval, task.assignees)
    counted = sum(r.decision != "reject" for r in task.responses)
    noun = "approval" if task.approval and task.approval.decision_field else "response"
    return f"{counted} of {needed} {noun}{'s' * (needed != 1)}"


def claimable(task: Task) -> bool:
    """One answer is wanted from one of several people (or a channel): someone may take
    it on, so the others see it is in hand. A one-person task needs no claim."""
    return (task.is_team and task.open and required_count(task.approval, task.assignees) == 1
            and len(task.assignees) != 1)


def team_view(task: Task, who: Visitor | None = None) -> dict[str, Any] | None:
    """What a page shows of a team task: progress, the claim and, for `who`, the buttons."""
    if not task.is_team:
        return None
    claim = task.claimed_by
    return {"rows": progress_rows(task), "summary": summary(task),
            "claimed_by": claim.name if claim else "",
            "claimed_at": claim.at.strftime("%Y-%m-%d %H:%M UTC") if claim else "",
            "mine": bool(claim and who and claim.id == who.id),
            # a claim needs someone to hold it: not a mere link holder
            "can_claim": bool(who and who.id != "link") and claimable(task) and claim is None}


def blocked(task: Task, who: Visitor) -> web.Response | None:
    """The page a visitor gets instead of a team task's form, if any, by the rules of a
    response (api.domain.teams.responder): not one of its assignees (403), someone else
    holds the claim, or already responded (409)."""
    if not task.is_team:
        return None
    try:
        responder(task, who.actor(), who.admin)
    except Forbidden:
        return message("Not yours to answer", "This task is for its assignees only.", 403)
    except Conflict:
        if task.claimed_by is not None and task.claimed_by.id != who.id:
            return message(f"Claimed by {task.claimed_by.name}", f"{task.claimed_by.name} "
                           "is working on this task. It opens again once they release it.",
                           409)
        return message("You have responded", f"Thank you. {summary(task)} so far; the task "
                       "ends once enough people have responded.", 409)
    return None


async def claim_or_release(request: web.Request, task: Task, who: Visitor,
                           action: str) -> web.Response:
    """POST of the form's Claim or Release button; back to the form after it."""
    form = await request.post()
    if not await csrf_ok(request, form.get(CSRF_FIELD)):
        return message("Please try again", "The page expired; reload it.", 403)
    approvals = request.config_dict[SERVICES].approvals
    try:
        if action == "claim":
            await asyncio.to_thread(approvals.claim, task, who.actor(), admin=who.admin)
        else:
            await asyncio.to_thread(approvals.release, task, who.actor(), admin=who.admin)
    except (Conflict, Forbidden) as error:
        return message("Not possible now", error.message, error.status)
    raise web.HTTPSeeOther(f"/t/{task.link_id}")
