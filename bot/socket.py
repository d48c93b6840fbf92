"""Slack Socket Mode (`inloop bot`): for workspaces where Slack cannot reach our URL."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from api.runtime import Services
from bot.app import build_bolt_app

log = logging.getLogger(__name__)


async def run_socket_mode(services: Services) -> None:
    """Connect to Slack over a WebSocket and answer until cancelled."""
    token = services.settings.slack_app_token
    if not token:
        raise SystemExit("inloop bot: set SLACK_APP_TOKEN (xapp-...) for Socket Mode")
    handler = AsyncSocketModeHandler(build_bolt_app(services), token)
    await handler.connect_async()
    log.info("connected to Slack in Socket Mode")
    try:
        await asyncio.Event().wait()
    finally:
        await handler.close_async()
