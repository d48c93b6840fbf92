"""Who is looking at a page: a signed-in member, an external assignee with a code, or
anyone holding a task link."""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.domain.errors import NotFound
from api.domain.task import CompletedBy, Task
from api.runtime import SERVICES
from api.store.directory import Member
from api.web.session import MEMBER_COOKIE, TASK_COOKIE, load_session


async def signed_in_member(request: web.Request) -> Member | None:
    session = await load_session(request, MEMBER_COOKIE)
    if not session or session.get("kind") != "member":
        return None
    try:
        return await asyncio.to_thread(request.config_dict[SERVICES].directory.member,
                                       session["member_id"])
    except NotFound:
        return None


async def visitor(request: web.Request, task: Task) -> CompletedBy | None:
    """Who answers `task` from this browser; None if an email code is needed first."""
    member = await signed_in_member(request)
    if member is not None and member.org_id == task.org_id:
        return CompletedBy(channel="web", id=member.id, name=member.name)
    if task.requires_otp:
        session = await load_session(request, TASK_COOKIE)
        if not session or session.get("task_ref") != task.ref:
            return None
        email = str(session["email"])
        return CompletedBy(channel="web", id=email, name=task.assignee_name or email)
    return CompletedBy(channel="web", id="link", name=task.assignee_name or "link")


def task_cookie_path(task: Task) -> str:
    return f"/t/{task.link_id}"
