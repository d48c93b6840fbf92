"""The events saying inloop lost its token in a workspace: `app_uninstalled`, and
`tokens_revoked` for the bot's token. The workspace's installation is removed, and the
org's pending Slack tasks record a delivery problem (api.store.slack_installs)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from api.runtime import Services


def register(app: AsyncApp, services: Services) -> None:
    app.event("app_uninstalled")(partial(uninstalled, services))
    app.event("tokens_revoked")(partial(tokens_revoked, services))


async def uninstalled(services: Services, context: AsyncBoltContext) -> None:
    await _remove(services, context, "the Slack app was uninstalled from the workspace")


async def tokens_revoked(services: Services, context: AsyncBoltContext,
                         event: dict[str, Any]) -> None:
    if (event.get("tokens") or {}).get("bot"):  # user tokens: inloop keeps none
        await _remove(services, context, "the Slack app's bot token was revoked")


async def _remove(services: Services, context: AsyncBoltContext, reason: str) -> None:
    await asyncio.to_thread(services.slack_installs.remove_workspace, context.enterprise_id,
                            context.team_id, reason)
