"""Ephemeral replies through an interaction's `response_url`.

`chat.postEphemeral` needs the bot in the channel (`chat:write.public` covers only
`chat.postMessage`), so in a public channel it never joined it fails with
`not_in_channel`. A `response_url` (in every message interaction, valid 30 minutes for
5 replies) needs no membership.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)
TIMEOUT_S = 5


async def respond_ephemeral(response_url: str, text: str) -> bool:
    """Whether Slack took `text` as an ephemeral reply to the interaction."""
    webhook = AsyncWebhookClient(response_url, timeout=TIMEOUT_S)
    try:
        sent = await webhook.send(text=text, response_type="ephemeral",
                                  replace_original=False)
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        log.warning("Slack response_url failed: %r", error)
        return False
    if sent.status_code != 200:
        log.warning("Slack response_url refused the reply: %s %s", sent.status_code, sent.body)
    return sent.status_code == 200
