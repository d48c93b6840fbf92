"""`POST /slack/events` on the inloop aiohttp server (Slack's HTTP mode).

Bolt checks the request signature with `SLACK_SIGNING_SECRET`. The Bolt app is built at
startup from the app's services; without Slack settings the route is not mounted.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from api.http.resources import SERVICES
from bot.app import build_bolt_app

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
    bolt = request.app[BOLT]
    response = await bolt.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(response)
