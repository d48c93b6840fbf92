"""Who is looking at a page (a signed-in member, an external assignee with a code, or
anyone holding a task link), and which task a link opens."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiohttp import web

from api.domain.approval import Actor, find_assignee
from api.domain.errors import NotFound
from api.domain.task import CompletedBy, Task
from api.runtime import SERVICES
from api.store.directory import Member
from api.web.pages import message
from api.web.session import MEMBER_COOKIE, TASK_COOKIE, load_session

GONE = {
    "completed": ("This task is done", "It has already been answered. Thank you!"),
    "cancelled": ("This task was cancelled", "It no longer needs an answer."),
    "failed": ("This task is closed", "It can no longer be answered."),
    "expired": ("This task has expired", "It was not answered in time and is closed."),
}


def gone_page(task: Task) -> web.Response:
    expired = task.status == "failed" and any(e.code == "expired" for e in task.errors)
    heading, paragraph = GONE["expired" if expired else task.status]
    return message(heading, paragraph, status=410)


async def task_by_link(request: web.Request) -> Task:
    """The task of the link (404 if there is none); overdue tasks expire on read."""
    store = request.config_dict[SERVICES].store
    return await asyncio.to_thread(store.by_link, request.match_info["link_id"])


async def task_for_link(request: web.Request) -> Task | web.Response:
    """The link's open task (pending or claimed), or the page to show instead (404
    unknown, 410 ended)."""
    try:
        task = await task_by_link(request)
    except NotFound:
        return message("Link not found", "This task link does not exist.", status=404)
    if not task.open:
        return gone_page(task)
    return task


async def signed_in_recently(request: web.Request) -> bool:
    """Whether this browser's member session began within INLOOP_WEB_RECENT_SIGN_IN_S
    (sessions from before `signed_in_at` was recorded count as old)."""
    session = await load_session(request, MEMBER_COOKIE)
    began = session.get("signed_in_at") if session else None
    window = request.config_dict[SERVICES].settings.web_recent_sign_in_s
    return isinstance(began, int) and time.time() - began <= window


async def signed_in_member(request: web.Request) -> Member | None:
    session = await load_session(request, MEMBER_COOKIE)
    if not session or session.get("kind") != "member":
        return None
    try:
        return await asyncio.to_thread(request.config_dict[SERVICES].directory.member,
                                       session["member_id"])
    except NotFound:
        return None


@dataclass(frozen=True)
class Visitor:
    """Who is at a task's form: `id` is a member id, a verified email address, or "link"
    (anyone holding the link of a task that asks nobody in particular)."""

    id: str
    name: str
    admin: bool = False  # a signed-in admin of the task's org: answers on behalf

    def completed_by(self) -> CompletedBy:
        return CompletedBy(channel="web", id=self.id, name=self.name)

    def actor(self) -> Actor:
        return Actor(channel="web", id=self.id, name=self.name)


def needs_identity(task: Task) -> bool:
    """A team task with assignees takes answers from its assignees only: a visitor is a
    signed-in member, or proves an assignee's address with a code."""
    return task.requires_otp or (task.is_team and bool(task.assignees))


async def visitor(request: web.Request, task: Task) -> Visitor | None:
    """Who answers `task` from this browser; None if an email code is needed first."""
    member = await signed_in_member(request)
    if member is not None and member.org_id == task.org_id:
        return Visitor(member.id, member.name, admin=member.admin)
    if needs_identity(task):
        session = await load_session(request, TASK_COOKIE)
        if not session or session.get("task_ref") != task.ref:
            return None
        email = str(session["email"])
        return Visitor(email, _name_of(task, email))
    return Visitor("link", link_answerer(task))


def _name_of(task: Task, email: str) -> str:
    if not task.is_team:
        return task.assignee_name or email
    assignee = find_assignee(task, email=email)
    return (assignee.name if assignee else None) or email


def link_answerer(task: Task) -> str:
    """Whom a link answer names: a link is a bearer credential, so it answers for the
    assignee it was made for, and for nobody in particular on an unassigned task."""
    return task.assignee_name or task.assignee_email or "anyone with the link"


def task_cookie_path(task: Task) -> str:
    return f"/t/{task.link_id}"
