"""A task in the dashboard: answers, timeline, sink deliveries, PDF, files, cancel."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from api.domain.errors import Conflict, NotFound
from api.domain.task import Task
from api.runtime import SERVICES
from api.store.deliveries import DeliveryLog
from api.store.directory import Member
from api.store.files import signature_images
from api.web.dashboard import member_page, require_member
from api.web.files import file_response
from api.web.pages import message
from api.web.session import CSRF_FIELD, csrf_ok
from renderers.pdf import task_pdf
from renderers.values import display_value


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def timeline(task: Task, creator: str,
             deliveries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What happened to the task, oldest first: (when, a sentence)."""
    events = [(task.created_at, f"created by {creator}")]
    events += [(datetime.fromtimestamp(float(sent.ts), UTC), f"delivered to Slack ({sent.channel})")
               for sent in task.external_message_ids]
    events += [(p.at, f"Slack delivery problem: {p.message}") for p in task.delivery_problems]
    events += _end(task)
    events += [_sink_event(d) for d in deliveries if d["attempts"]]
    return [(_when(moment), text) for moment, text in sorted(events, key=lambda e: e[0])]


def _end(task: Task) -> list[tuple[datetime, str]]:
    ended = task.ended_at or task.updated_at
    if task.completed_at and task.completed_by:
        by = task.completed_by
        return [(task.completed_at, f"answered by {by.name} via {by.channel}")]
    if task.status == "cancelled":
        reason = f": {task.cancel_reason}" if task.cancel_reason else ""
        return [(ended, f"cancelled{reason}")]
    if task.status == "failed":
        return [(ended, "failed: " + "; ".join(e.message for e in task.errors))]
    return []


def _sink_event(delivery: dict[str, Any]) -> tuple[datetime, str]:
    """A sink delivery's state as of its latest attempt."""
    last = delivery["attempts"][-1]
    sink = f"{delivery['sink_type']} {delivery['target']} ({delivery['event']})"
    tries = f"{delivery['attempt_count']} attempt{'s' * (delivery['attempt_count'] != 1)}"
    outcome = f"HTTP {last['status_code']}" if last.get("status_code") else last.get("error")
    if delivery["status"] == "delivered":
        text = f"{sink} delivered after {tries}"
    elif delivery["status"] == "gave_up":
        text = f"{sink} gave up after {tries}, last: {outcome}"
    else:
        text = f"{sink} not delivered yet ({tries}, last: {outcome}); retrying"
    return datetime.fromisoformat(last["at"]), text


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
    services = request.config_dict[SERVICES]
    deliveries = await asyncio.to_thread(DeliveryLog(services.store).for_task, task)
    try:
        creator = (await asyncio.to_thread(services.directory.member, task.created_by)).name
    except NotFound:
        creator = task.created_by
    return await member_page(request, member, "task.html", task=task, answers=answers(task),
                       timeline=timeline(task, creator, deliveries), deliveries=deliveries,
                       form_href=f"/t/{task.link_id}")


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
    with suppress(Conflict):  # already ended: the task page shows how
        await asyncio.to_thread(request.config_dict[SERVICES].store.cancel, task.ref, reason)
    raise web.HTTPSeeOther(f"/dashboard/tasks/{task.task_id}")


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app."""
    app.router.add_get("/tasks/{task_id}", show_task)
    app.router.add_get("/tasks/{task_id}/pdf", download_pdf)
    app.router.add_get("/tasks/{task_id}/files/{field}", download_file)
    app.router.add_post("/tasks/{task_id}/cancel", cancel)
