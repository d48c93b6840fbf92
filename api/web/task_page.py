"""A task in the dashboard: answers, a team's progress and claim, children, the timeline
(the task's history), sink deliveries, PDF, files; for admins cancel and reassign
(api.web.reassign)."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from aiohttp import web

from api.domain.approval import Actor
from api.domain.errors import Conflict, NotFound
from api.domain.task import Task
from api.runtime import SERVICES, Services
from api.store.deliveries import DeliveryLog
from api.store.directory import Member
from api.store.files import signature_images
from api.web.dashboard import member_page, require_member
from api.web.files import file_response
from api.web.history_view import timeline
from api.web.pages import message
from api.web.session import CSRF_FIELD, csrf_ok
from api.web.team import shown, team_view
from renderers.pdf import task_pdf
from renderers.values import display_value


def answers(task: Task) -> list[dict[str, Any]]:
    rows = []
    for f in task.fields():
        value = task.data.get(f.name)
        href = (f"/dashboard/tasks/{task.task_id}/files/{f.name}"
                if isinstance(value, dict) else "")
        rows.append({"label": f.label, "value": display_value(f, value), "href": href})
    return rows


async def _task(request: web.Request, member: Member) -> Task:
    return await asyncio.to_thread(request.config_dict[SERVICES].store.get, member.org_id,
                                   request.match_info["task_id"])


async def show_task(request: web.Request) -> web.Response:
    member = await require_member(request)
    try:
        task = await _task(request, member)
    except NotFound:
        return message("Task not found", "There is no such task in your organisation.", 404)
    context = await asyncio.to_thread(_page_data, request.config_dict[SERVICES], task, member)
    return await member_page(request, member, "task.html", task=task, answers=answers(task),
                             team=team_view(task), form_href=f"/t/{task.link_id}", **context)


def _page_data(services: Services, task: Task, member: Member) -> dict[str, Any]:
    """What the page reads besides the task (blocking reads: run in a thread)."""
    deliveries = DeliveryLog(services.store).for_task(task)
    try:
        creator = services.directory.member(task.created_by).name
    except NotFound:
        creator = task.created_by
    history = services.approvals.history(task)
    people = services.directory.members(task.org_id) if member.admin and task.is_team else []
    return {"deliveries": deliveries, "children": services.approvals.children(task),
            "timeline": timeline(task, history, creator, deliveries),
            "places": [shown(a) for a in task.assignees],
            "members": sorted(((m.id, m.name) for m in people), key=lambda m: m[1])}


async def download_file(request: web.Request) -> web.Response:
    member = await require_member(request)
    task = await _task(request, member)
    return await file_response(request, task, request.match_info["field"])


async def download_pdf(request: web.Request) -> web.Response:
    member = await require_member(request)
    task = await _task(request, member)
    images = await asyncio.to_thread(signature_images,
                                    request.config_dict[SERVICES].file_answers.storage, task)
    pdf = await asyncio.to_thread(task_pdf, task, images=images)
    return web.Response(body=pdf, content_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="task-{task.task_id}.pdf"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


async def cancel(request: web.Request) -> web.Response:
    member = await require_member(request)
    form = await request.post()
    if not await csrf_ok(request, form.get(CSRF_FIELD)):
        return message("Please try again", "The page expired; reload it.", 403)
    if not member.admin:
        return message("Not allowed", "Only admins can cancel tasks.", 403)
    task = await _task(request, member)
    reason = str(form.get("reason", "")).strip()[:2000] or None
    by = Actor(channel="web", id=member.id, name=member.name)
    with suppress(Conflict):  # already ended: the task page shows how
        await asyncio.to_thread(request.config_dict[SERVICES].approvals.cancel, task, reason,
                                by)
    raise web.HTTPSeeOther(f"/dashboard/tasks/{task.task_id}")


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app."""
    app.router.add_get("/tasks/{task_id}", show_task)
    app.router.add_get("/tasks/{task_id}/pdf", download_pdf)
    app.router.add_get("/tasks/{task_id}/files/{field}", download_file)
    app.router.add_post("/tasks/{task_id}/cancel", cancel)
