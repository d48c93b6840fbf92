"""`/api/v1/tasks` routes."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any, get_args

from aiohttp import web

from api.domain.errors import Detail, InvalidRequest
from api.domain.task import (
    CancelRequest,
    CompleteRequest,
    Status,
    Task,
    WaitResult,
)
from api.domain.validation import parse
from api.http.deps import actor_of, is_admin, json_body, principal, sized_work
from api.runtime import AREDIS, HUB, SERVICES
from api.service import validated
from api.store.directory import Principal
from api.store.listing import Filters

STATUSES = get_args(Status)


async def create_task(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:create")
    raw = await json_body(request)
    body, digest = await sized_work(request, validated, raw)
    created, replayed = await request.config_dict[SERVICES].tasks.acreate(
        request.config_dict[AREDIS], who, body, digest)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return web.json_response(created, status=201, headers=headers)


async def read_task(request: web.Request, org_id: str) -> Task:
    """The org's task named by the path; overdue tasks expire on read."""
    return await request.config_dict[SERVICES].store.aget(request.config_dict[AREDIS], org_id,
                                                          request.match_info["task_id"])


async def get_task(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    task = await read_task(request, who.org_id)
    children = await asyncio.to_thread(request.config_dict[SERVICES].approvals.children, task)
    return web.json_response({**task.public(who.sees_links), "children": children})


async def _assignee(request: web.Request, who: Principal) -> str | None:
    """The index value of `?assignee=`: `me`, a member id, or an email (a member's email
    means that member; any other is an external assignee)."""
    assignee = request.query.get("assignee")
    if assignee == "me":
        return who.member.id
    if assignee and "@" in assignee:
        directory = request.config_dict[SERVICES].directory
        member = await asyncio.to_thread(directory.member_by_email, who.org_id, assignee)
        return member.id if member else f"email:{assignee.lower()}"
    return assignee


async def _filters(request: web.Request, who: Principal) -> Filters:
    query = request.query
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidRequest([Detail("status", f"must be one of {', '.join(STATUSES)}")])
    assignee = await _assignee(request, who)
    return Filters(status=status, assignee=assignee, tag=query.get("tag"),
                   process_id=query.get("process_id"), corr_id=query.get("corr_id"),
                   parent=query.get("parent"))


def _int_param(request: web.Request, name: str, default: float, low: float,
               high: float) -> float:
    value = request.query.get(name)
    try:
        number = default if value is None else float(value)
    except ValueError:
        number = float("nan")
    if not low <= number <= high:
        raise InvalidRequest([Detail(name, f"must be a number from {low:g} to {high:g}")])
    return number


async def list_tasks(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    services = request.config_dict[SERVICES]
    filters = await _filters(request, who)
    limit = int(_int_param(request, "limit", 50, 1, 200))
    tasks, cursor = await asyncio.to_thread(services.listing.page, who.org_id, filters,
                                            limit=limit, cursor=request.query.get("cursor"))
    return web.json_response({"tasks": [t.public(who.sees_links) for t in tasks],
                              "next_cursor": cursor})


async def wait_task(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    settings = request.config_dict[SERVICES].settings
    timeout = _int_param(request, "timeout", settings.wait_default_s, 0, settings.wait_max_s)
    task = await read_task(request, who.org_id)
    if not task.open or timeout <= 0:  # a claim never ends a wait
        return Answer(task).response()
    store = request.config_dict[SERVICES].store
    expires_in = (task.expires_at - store.clock()).total_seconds() if task.expires_at else None
    ref = task.ref
    del task  # a parked waiter holds no task record: 10,000 of them add up
    answer = await request.config_dict[HUB].wait(
        ref, timeout, partial(_read_answer, request, who.org_id), expires_in)
    return answer.response()


class Answer:
    """A read of a waited task, and its `/wait` body rendered once: the wait hub hands
    every waiter of a read the same Answer (100 waiters of a task, one body)."""

    __slots__ = ("_body", "task")

    def __init__(self, task: Task) -> None:
        self.task = task
        self._body = b""

    @property
    def open(self) -> bool:
        return self.task.open

    def response(self) -> web.Response:
        """What web.json_response(WaitResult.of(task)) answers, byte for byte."""
        if not self._body:
            self._body = json.dumps(WaitResult.of(self.task)).encode()
        return web.Response(body=self._body, content_type="application/json", charset="utf-8")


async def _read_answer(request: web.Request, org_id: str) -> Answer:
    return Answer(await read_task(request, org_id))


async def complete_task(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:complete")
    task = await read_task(request, who.org_id)
    body = parse(CompleteRequest, await json_body(request))
    service = request.config_dict[SERVICES].approvals  # a team task records a response
    done = await asyncio.to_thread(service.respond, task, actor_of(who), body.data,
                                   admin=is_admin(who))
    return web.json_response(done.public())


async def cancel_task(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:cancel")
    task = await read_task(request, who.org_id)
    body = parse(CancelRequest, await optional_json(request))
    service = request.config_dict[SERVICES].approvals  # cancels the open children too
    done = await asyncio.to_thread(service.cancel, task, body.reason, actor_of(who))
    return web.json_response(done.public())


async def optional_json(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    return await json_body(request)


def register(app: web.Application) -> None:
    app.router.add_post("/tasks", create_task)
    app.router.add_get("/tasks", list_tasks)
    app.router.add_get("/tasks/{task_id}", get_task)
    app.router.add_get("/tasks/{task_id}/wait", wait_task)
    app.router.add_post("/tasks/{task_id}/complete", complete_task)
    app.router.add_post("/tasks/{task_id}/cancel", cancel_task)
