"""Dashboard -> a team task -> Reassign (admins): move one assignee's place to a member
of the org or to an email address, through api.approvals (the same rules as the API)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.domain.approval import Actor, Assignee, AssigneeIn, EmailAssignee, MemberAssignee
from api.domain.errors import InloopError, InvalidRequest
from api.domain.task import Task
from api.runtime import SERVICES
from api.web.dashboard import require_member
from api.web.pages import message
from api.web.session import CSRF_FIELD, csrf_ok


def _as_input(assignee: Assignee) -> AssigneeIn:
    if assignee.member_id:
        return MemberAssignee(member_id=assignee.member_id)
    return EmailAssignee(email=assignee.email or "")


def _target(form: Any) -> AssigneeIn:
    """The new assignee: an address when one is typed, else the chosen member."""
    email, member_id = str(form.get("to_email", "")).strip(), str(form.get("to_member", ""))
    try:
        if email:
            return EmailAssignee(email=email, name=str(form.get("to_name", "")).strip() or None)
        return MemberAssignee(member_id=member_id)
    except ValueError:
        raise InvalidRequest([]) from None


def _place(task: Task, form: Any) -> AssigneeIn:
    try:
        return _as_input(task.assignees[int(str(form.get("from", "")))])
    except (ValueError, IndexError):
        raise InvalidRequest([]) from None


async def reassign(request: web.Request) -> web.Response:
    member = await require_member(request)
    form = await request.post()
    if not await csrf_ok(request, form.get(CSRF_FIELD)):
        return message("Please try again", "The page expired; reload it.", 403)
    if not member.admin:
        return message("Not allowed", "Only admins can reassign tasks.", 403)
    services = request.config_dict[SERVICES]
    task = await asyncio.to_thread(services.store.get, member.org_id,
                                   request.match_info["task_id"])
    actor = Actor(channel="web", id=member.id, name=member.name)
    try:
        await asyncio.to_thread(services.approvals.reassign, task, actor, _target(form),
                                from_=_place(task, form), admin=True,
                                reason=str(form.get("reason", "")).strip()[:500] or None)
    except InvalidRequest as error:
        said = error.details[0].msg if error.details else "Choose whose place and who takes it."
        return message("Cannot reassign", said, 400)
    except InloopError as error:
        return message("Cannot reassign", error.message, error.status)
    raise web.HTTPSeeOther(f"/dashboard/tasks/{task.task_id}")


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app."""
    app.router.add_post("/tasks/{task_id}/reassign", reassign)
