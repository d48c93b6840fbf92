"""The Bolt app: one per process, built from the services, with every listener registered.

Each request is authorized with its workspace's bot token (bot.tokens): a request from a
workspace inloop has no token for is answered before any listener, with a polite note to
the person where Slack gives a way to reach them (a click's `response_url`).

Each listener module's `register(app, services)` binds the services to its listeners (not
through the Bolt context: Bolt hands lazy listeners a deep copy of it), so listeners stay
importable and testable without a token or a global app.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.response import BoltResponse

from api.runtime import Services
from api.settings import Settings
from api.store.slack import SlackState
from bot import notes
from bot.clients import async_web_client
from bot.listeners import actions, home, installs, team, views
from bot.respond import respond_ephemeral
from bot.tokens import SlackTokens
from renderers.slack_interim import note_view

log = logging.getLogger(__name__)
Next = Callable[[], Awaitable[BoltResponse | None]]
AUTHORIZED = "inloop_authorized"  # the request's AuthorizeResult, in Bolt's context
# Requests Bolt answers without a token: checks, and the events saying the token is gone.
TOKENLESS_EVENTS = frozenset({"app_uninstalled", "tokens_revoked", "team_access_revoked"})


def build_bolt_app(services: Services) -> AsyncApp:
    """The Bolt app answering Slack for these services (HTTP mode or Socket Mode)."""
    settings = services.settings
    app = AsyncApp(client=async_web_client(settings),
                   signing_secret=settings.slack_signing_secret or "", logger=log,
                   raise_error_for_unhandled_request=False,
                   before_authorize=_workspace_token(SlackTokens(services), settings),
                   authorize=_authorize)
    state = SlackState(services.redis)
    app.use(_skip_seen_events(state))
    app.error(_on_error(state))
    for module in (actions, views, home, team, installs):
        module.register(app, services)
    return app


def _needs_token(body: dict[str, Any]) -> bool:
    if body.get("type") in ("url_verification", "ssl_check"):
        return False
    return (body.get("event") or {}).get("type") not in TOKENLESS_EVENTS


def _workspace_token(tokens: SlackTokens, settings: Settings) -> Callable[..., Awaitable[Any]]:
    """Find the workspace's token before Bolt authorizes (`_authorize` hands it over), so
    a workspace without one gets inloop's own note rather than Bolt's, through the
    guarded response_url (bot.respond)."""

    async def find(context: AsyncBoltContext, body: dict[str, Any], next: Next) -> Any:
        if not _needs_token(body):
            return await next()
        found = await tokens.for_team(context.enterprise_id, context.team_id)
        if found is None:
            log.warning("Slack request from team %s, which has no installation",
                        context.team_id)
            return await _not_installed(body, settings)
        context[AUTHORIZED] = found
        return await next()

    return find


async def _not_installed(body: dict[str, Any], settings: Settings) -> BoltResponse:
    """The polite note, where Slack lets inloop answer without a token: a click's
    `response_url`, or the submitted modal itself (a modal opened before the workspace
    went), which then shows the note instead of closing without a word."""
    url = body.get("response_url")
    if url:
        await respond_ephemeral(str(url), notes.NOT_INSTALLED, settings)
    if body.get("type") == "view_submission":
        update = {"response_action": "update", "view": note_view(notes.NOT_INSTALLED)}
        return BoltResponse(status=200, body=json.dumps(update),
                            headers={"content-type": "application/json"})
    return BoltResponse(status=200, body="")


async def _authorize(context: AsyncBoltContext) -> AuthorizeResult:
    """Bolt authorizes only requests that need a token, which `_workspace_token` found."""
    found: AuthorizeResult = context[AUTHORIZED]
    return found


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
