"""GET /dashboard/events: server-sent events telling an open dashboard that its org's
tasks changed (api.store.feed routes Redis pub/sub by org), so the page fetches fresh
rows at once instead of polling; with `?task=` a task page hears of its own task only.

The stream carries no task data: `ready` when it opens (the page reads once, catching up
on what it missed while away), then `changed` (several changes may arrive as one). It
ends after STREAM_MAX_S and the browser reconnects, so a session that was signed out or
expired stops getting events within that time; every read the page makes checks the
session anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from api.domain.task import task_ref
from api.runtime import FEED
from api.store.feed import Listener
from api.web.access import signed_in_member

STREAM_MAX_S = 300
PING_S = 10  # a comment line this often: proxies keep the stream, a gone browser shows
RETRY_MS = 1000  # how soon the browser reconnects after the stream ends


async def events(request: web.Request) -> web.StreamResponse:
    """The org's changes; `?task={task_id}`: that task's only (its task page)."""
    member = await signed_in_member(request)
    if member is None:
        return web.json_response({"error": "unauthorized"}, status=401)
    task_id = request.query.get("task", "")[:128]
    ref = task_ref(member.org_id, task_id) if task_id else None
    feed = request.config_dict[FEED]
    with feed.listen(member.org_id, ref) as listener:
        async with sse_response(request, ping_interval=PING_S) as stream:
            try:
                await stream.send("", event="ready", retry=RETRY_MS)
                await _relay(listener, stream)
            except ConnectionResetError:
                pass  # the browser left mid-write
    return stream


async def _relay(listener: Listener, stream: EventSourceResponse) -> None:
    """Send `changed` on each change, until the browser leaves (a ping fails), the feed
    closes or the stream's time is up."""
    gone = asyncio.ensure_future(stream.wait())
    loop = asyncio.get_running_loop()
    end = loop.time() + STREAM_MAX_S
    try:
        while await _next_change(listener, gone, end - loop.time()):
            await stream.send("", event="changed")
    finally:
        gone.cancel()


async def _next_change(listener: Listener, gone: asyncio.Future[None], timeout: float) -> bool:
    """True on a change; False when the browser has gone, the feed closed or `timeout`
    passed."""
    change = asyncio.ensure_future(listener.changed())
    either: set[asyncio.Future[Any]] = {change, gone}
    try:
        await asyncio.wait(either, timeout=max(timeout, 0),
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        change.cancel()  # nothing once it is done
    return change.done() and not change.cancelled() and change.result()


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app."""
    app.router.add_get("/events", events)
