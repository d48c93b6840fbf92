"""`POST /slack/events` on the inloop aiohttp server (Slack's HTTP mode).

Before Bolt sees a request, it must be signed with `SLACK_SIGNING_SECRET` within Slack's
5-minute window (else 401, bot.signing), be of a shape inloop handles (else 400,
bot.envelope), and be new: Slack signs every request and every retry anew, so a signature
seen before is a replay, acked with an empty 200 and not acted on. The Bolt app is built
at startup from the app's services; without Slack settings the route is not mounted.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from api.runtime import SERVICES
from api.store.slack import SlackState
from bot.app import build_bolt_app
from bot.envelope import bolt_request
from bot.signing import verified_signature

BOLT = web.AppKey("slack_bolt", AsyncApp)


def register(app: web.Application) -> None:
    """An aiohttp registrar for `create_app(services, extras=[register])`."""
    if not app[SERVICES].settings.slack_http_enabled:
        return
    app.on_startup.append(_start)
    app.router.add_post("/slack/events", slack_events)


async def _start(app: web.Application) -> None:
    app[BOLT] = build_bolt_app(app[SERVICES])


async def slack_events(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await request.read()
    signature = verified_signature(services.settings.slack_signing_secret or "",
                                   request.headers, body, time.time())
    bolt = bolt_request(body, request.query_string, request.headers)
    if not await asyncio.to_thread(SlackState(services.redis).first_request, signature):
        return web.Response(status=200)
    response = await request.app[BOLT].async_dispatch(bolt)
    return await to_aiohttp_response(response)
