"""Teams of approvers under `/api/v1/tasks/{id}`: claim, release, reassign, history."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.domain.approval import ClaimRequest, History, ReassignRequest
from api.domain.validation import parse
from api.http.deps import actor_of, is_admin, json_body, principal
from api.http.tasks import optional_json, read_task
from api.runtime import SERVICES


async def _act(request: web.Request, action: str, **kwargs: Any) -> web.Response:
    who = await principal(request, "tasks:complete")
    task = await read_task(request, who.org_id)
    method = getattr(request.config_dict[SERVICES].approvals, action)
    done = await asyncio.to_thread(method, task, actor_of(who), admin=is_admin(who), **kwargs)
    return web.json_response(done.public(who.sees_links))


async def claim(request: web.Request) -> web.Response:
    body = parse(ClaimRequest, await optional_json(request))
    return await _act(request, "claim", take_over=body.take_over)


async def release(request: web.Request) -> web.Response:
    return await _act(request, "release")


async def reassign(request: web.Request) -> web.Response:
    body = parse(ReassignRequest, await json_body(request))
    return await _act(request, "reassign", to=body.to, from_=body.from_, reason=body.reason)


async def history(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    task = await read_task(request, who.org_id)
    entries = await asyncio.to_thread(request.config_dict[SERVICES].approvals.history, task)
    return web.json_response(History(task_id=task.task_id, entries=entries)
                             .model_dump(mode="json", exclude_none=True))


def register(app: web.Application) -> None:
    app.router.add_post("/tasks/{task_id}/claim", claim)
    app.router.add_post("/tasks/{task_id}/release", release)
    app.router.add_post("/tasks/{task_id}/reassign", reassign)
    app.router.add_get("/tasks/{task_id}/history", history)
