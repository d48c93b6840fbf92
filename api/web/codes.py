"""External assignees prove their email with a one-time code before the form opens.

On a team task every assignee with an address may: the page asks which one the visitor
is (masked), and each address is a subject of its own (its own code and limits).

GET only shows the page; the code is sent by an explicit POST (so link previews never
send mail). Each request for a code is an attempt whose id only this browser holds (a
cookie on the verify path), so nobody else can spend its tries. A right code gives a
session cookie for this task's path only.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.domain.task import Task
from api.runtime import SERVICES
from api.store.codes import CodeLocked, RateLimited, new_attempt
from api.web.access import needs_identity, task_cookie_path, task_for_link, visitor
from api.web.pages import WEB, page
from api.web.session import (
    CSRF_FIELD,
    TASK_COOKIE,
    client_ip,
    cookie_id,
    create_session,
    csrf_ok,
    set_cookie,
    with_csrf,
)

CODE_COOKIE = "inloop_code"


def masked(email: str) -> str:
    """"ada@example.com" -> "a**@example.com": enough to recognise, not to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 2)}@{domain}"


def masked_phone(phone: str) -> str:
    """"+44 7700 900123" -> "+** **** ****23": the last two digits, nothing else."""
    hidden, out = sum(c.isdigit() for c in phone) - 2, []
    for c in phone:
        hidden -= c.isdigit()
        out.append("*" if c.isdigit() and hidden >= 0 else c)
    return "".join(out)


def code_emails(task: Task) -> list[tuple[str, str]]:
    """(address, name) a code for `task` may go to: its external assignee, or every
    assignee with an address on a team task."""
    if task.is_team:
        return [(a.email, a.name or "") for a in task.assignees if a.email]
    return [(task.assignee_email, task.assignee_name or "")] if task.assignee_email else []


async def _task_needing_code(request: web.Request) -> Task | web.Response:
    task = await task_for_link(request)
    if isinstance(task, web.Response):
        return task
    if not needs_identity(task) or not code_emails(task) or await visitor(request, task):
        raise web.HTTPSeeOther(f"/t/{task.link_id}")
    return task


def _chosen(task: Task, who: object) -> tuple[int, str]:
    """The address the visitor says is theirs, by its index in code_emails (the only one
    needs none); "" for an index that is not there."""
    emails = code_emails(task)
    try:
        index = int(str(who)) if len(emails) > 1 else 0
    except ValueError:
        return 0, ""
    return (index, emails[index][0]) if 0 <= index < len(emails) else (0, "")


async def code_page(request: web.Request, task: Task, *, note: str = "", error: str = "",
                    status: int = 200) -> web.Response:
    emails = [(masked(email), name) for email, name in code_emails(task)]
    return await with_csrf(request, lambda token: page(
        "otp.html", status, task=task, email=emails[0][0], emails=emails,
        who=request.query.get("who", ""),
        phone=masked_phone(task.assignee_phone or ""), note=note, error=error,
        csrf_token=token, base=_verify_path(task)))


def _verify_path(task: Task) -> str:
    return f"/t/{task.link_id}/verify"


def _subject(task: Task, email: str) -> str:
    return f"task:{task.ref}:{email.lower()}" if task.is_team else f"task:{task.ref}"


async def show_code_page(request: web.Request) -> web.Response:
    task = await _task_needing_code(request)
    if isinstance(task, web.Response):
        return task
    note = ("We sent you a code. It works for 10 minutes. Asking again within a minute "
            "sends no new email: use the newest code you got.") if "sent" in request.query else ""
    return await code_page(request, task, note=note)


async def send_code(request: web.Request) -> web.Response:
    task = await _task_needing_code(request)
    if isinstance(task, web.Response):
        return task
    form = await request.post()
    if not await csrf_ok(request, form.get(CSRF_FIELD)):
        return await code_page(request, task, error="The page expired; try again.",
                               status=403)
    index, email = _chosen(task, form.get("who"))
    if not email:
        return await code_page(request, task, error="Choose who you are.", status=400)
    codes, attempt = request.config_dict[WEB].codes, new_attempt()
    context = {"purpose": "task", "title": task.title, "minutes": codes.policy.ttl_s // 60}
    try:
        await asyncio.to_thread(codes.send, "task", attempt, _subject(task, email), email,
                                client_ip(request), context=context,
                                record={"task_id": task.task_id})
    except RateLimited as error:
        return await code_page(request, task, error=error.message, status=429)
    who = f"&who={index}" if len(code_emails(task)) > 1 else ""
    response = web.HTTPSeeOther(f"{_verify_path(task)}?sent=1{who}")
    set_cookie(request, response, CODE_COOKIE, attempt, path=_verify_path(task),
               max_age=codes.policy.ttl_s)
    raise response


async def check_code(request: web.Request) -> web.Response:
    task = await _task_needing_code(request)
    if isinstance(task, web.Response):
        return task
    form, attempt = await request.post(), cookie_id(request, CODE_COOKIE) or ""
    if not await csrf_ok(request, form.get(CSRF_FIELD)):
        return await code_page(request, task, error="The page expired; try again.",
                               status=403)
    codes = request.config_dict[WEB].codes
    subject = _subject(task, _chosen(task, form.get("who"))[1])
    try:
        record = await asyncio.to_thread(codes.verify, "task", attempt, str(form.get("code", "")),
                                         client_ip(request), subject=subject)
    except CodeLocked as error:
        return await code_page(request, task, error=error.message, status=403)
    if record is None:
        left = await asyncio.to_thread(codes.tries_left, "task", attempt)
        return await code_page(request, task, status=400,
                               error=f"That code is not right. {left} tries left.")
    return await _grant(request, task, record["email"])


async def _grant(request: web.Request, task: Task, email: str) -> web.Response:
    session_id = await create_session(request, {"kind": "task", "task_ref": task.ref,
                                                "email": email})
    response = web.HTTPSeeOther(f"/t/{task.link_id}")
    set_cookie(request, response, TASK_COOKIE, session_id, path=task_cookie_path(task),
               max_age=request.config_dict[SERVICES].settings.web_session_ttl_s)
    response.del_cookie(CODE_COOKIE, path=_verify_path(task))
    raise response
