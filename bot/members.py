"""Who is in a Slack channel (`conversations.members`, paginated), cached briefly in Redis.

A channel task may be answered by the channel's members: not by someone previewing a
public channel they never joined, nor by someone who has left it.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from api.store.slack import SlackState

log = logging.getLogger(__name__)
PAGE_SIZE = 1000  # Slack's maximum for conversations.members


async def is_member(client: AsyncWebClient, state: SlackState, channel_id: str,
                    user_id: str) -> bool | None:
    """Whether `user_id` is in the channel; None when Slack will not say (rate limited,
    an outage), so a passing error never takes away an earlier grant."""
    cached = await asyncio.to_thread(state.is_member, channel_id, user_id)
    if cached is not None:
        return cached
    try:
        members = await channel_members(client, channel_id)
    except SlackApiError as error:
        log.warning("cannot list the members of Slack channel %s: %s", channel_id,
                    error.response.get("error"))
        return None
    await asyncio.to_thread(state.cache_members, channel_id, members)
    return user_id in members


async def channel_members(client: AsyncWebClient, channel_id: str) -> list[str]:
    """Every member id of the channel, following Slack's cursor."""
    members: list[str] = []
    cursor: str | None = None
    while True:
        page = await client.conversations_members(channel=channel_id, limit=PAGE_SIZE,
                                                  cursor=cursor)
        members.extend(str(m) for m in page.get("members") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return members
