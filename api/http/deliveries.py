"""Delivery records of sink events: list a task's deliveries, redeliver one that gave up."""

from __future__ import annotations

from aiohttp import web

from api.http.deps import SERVICES, principal, run
from api.http.tasks import read_task
from api.store.deliveries import DeliveryLog


async def list_deliveries(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    task = await read_task(request, who.org_id)
    log = DeliveryLog(request.app[SERVICES].store)
    return web.json_response({"deliveries": await run(log.for_task, task)})


async def retry_delivery(request: web.Request) -> web.Response:
    who = await principal(request, "admin")
    log = DeliveryLog(request.app[SERVICES].store)
    delivery = await run(log.retry, request.match_info["delivery_id"], who.org_id)
    return web.json_response(delivery, status=202)


def register(app: web.Application) -> None:
    """Mount the deliveries routes."""
    app.router.add_get("/api/v1/tasks/{task_id}/deliveries", list_deliveries)
    app.router.add_post("/api/v1/deliveries/{delivery_id}/retry", retry_delivery)
