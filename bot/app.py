"""The Bolt app: one per process, built from the services, with every listener registered.

Each listener module's `register(app, services)` binds the services to its listeners (not
through the Bolt context: Bolt hands lazy listeners a deep copy of it), so listeners stay
importable and testable without a token or a global app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from api.runtime import Services
from api.store.slack import SlackState
from bot.clients import async_web_client
from bot.listeners import actions, home, team, views

log = logging.getLogger(__name__)
Next = Callable[[], Awaitable[BoltResponse | None]]


def build_bolt_app(services: Services, client: AsyncWebClient | None = None) -> AsyncApp:
    """The Bolt app answering Slack for these services (HTTP mode or Socket Mode)."""
    settings = services.settings
    app = AsyncApp(client=client or async_web_client(settings),
                   signing_secret=settings.slack_signing_secret or "", logger=log,
                   raise_error_for_unhandled_request=False)
    state = SlackState(services.redis)
    app.use(_skip_seen_events(state))
    app.error(_on_error(state))
    for module in (actions, views, home, team):
        module.register(app, services)
    return app


def _skip_seen_events(state: SlackState) -> Callable[..., Awaitable[Any]]:
    """Slack resends an event it thinks was not acked (`X-Slack-Retry-Num`): do it once.

    Event listeners run after the ack, so the mark is set here and `_on_error` removes
    it when handling fails: Slack's next retry of that event is then handled again.
    """

    async def skip(body: dict[str, Any], next: Next) -> Any:
        event_id = body.get("event_id")
        if event_id and not await asyncio.to_thread(state.first_time, str(event_id)):
            return BoltResponse(status=200, body="")
        return await next()

    return skip


def _on_error(state: SlackState) -> Callable[..., Awaitable[None]]:
    async def on_error(error: Exception, body: dict[str, Any],
                       logger: logging.Logger) -> None:
        logger.error("Slack %s listener failed", body.get("type", "request"), exc_info=error)
        event_id = body.get("event_id")
        if event_id:
            await asyncio.to_thread(state.forget_event, str(event_id))

    return on_error
