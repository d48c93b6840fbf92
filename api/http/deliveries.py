"""Delivery records of sink events: list a task's deliveries, redeliver one that gave up."""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.http.deps import principal
from api.http.tasks import read_task
from api.runtime import SERVICES
from api.store.deliveries import DeliveryLog


async def list_deliveries(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    task = await read_task(request, who.org_id)
    log = DeliveryLog(request.config_dict[SERVICES].store)
    return web.json_response({"deliveries": await asyncio.to_thread(log.for_task, task)})


async def retry_delivery(request: web.Request) -> web.Response:
    who = await principal(request, "admin")
    log = DeliveryLog(request.config_dict[SERVICES].store)
    delivery = await asyncio.to_thread(log.retry, request.match_info["delivery_id"], who.org_id)
    return web.json_response(delivery, status=202)


def register(app: web.Application) -> None:
    """Mount the deliveries routes."""
    app.router.add_get("/tasks/{task_id}/deliveries", list_deliveries)
    app.router.add_post("/deliveries/{delivery_id}/retry", retry_delivery)
