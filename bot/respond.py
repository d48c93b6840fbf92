"""Notes only the clicking person sees (`tell`), ephemeral through a `response_url`.

`chat.postEphemeral` needs the bot in the channel (`chat:write.public` covers only
`chat.postMessage`), so in a public channel it never joined it fails with
`not_in_channel`. A `response_url` (in every message interaction, valid 30 minutes for
5 replies) needs no membership.

The URL comes in the request body, so it is followed only to Slack's hooks host over
https (or to the origin of `SLACK_API_URL`, a stub or proxy standing in for Slack):
anything else would make the server post wherever the body says (SSRF).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from yarl import URL

from api.settings import Settings

log = logging.getLogger(__name__)
TIMEOUT_S = 5
Origin = tuple[str, str, int]
SLACK_HOOKS: Origin = ("https", "hooks.slack.com", 443)


def _origin(url: str) -> Origin | None:
    """Scheme, host and port as aiohttp will connect (yarl parses for both); None for a
    relative or unparsable URL, or one carrying credentials."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return None
    if not parsed.absolute or parsed.user is not None or parsed.password is not None:
        return None
    return parsed.scheme, parsed.host or "", parsed.port or 0


def trusted_response_url(url: str, settings: Settings) -> bool:
    found = _origin(url)
    return found is not None and found in {SLACK_HOOKS, _origin(settings.slack_api_url or "")}


async def respond_ephemeral(response_url: str, text: str, settings: Settings) -> bool:
    """Whether Slack took `text` as an ephemeral reply to the interaction."""
    if not trusted_response_url(response_url, settings):
        log.warning("Slack response_url off Slack's hooks host refused: %.200s", response_url)
        return False
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


async def tell(settings: Settings, client: AsyncWebClient, body: dict[str, Any],
               text: str) -> None:
    """A note only the clicking person sees: ephemeral in a channel (through the
    interaction's response_url, else chat.postEphemeral), else in their DM."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    url = body.get("response_url")
    if url and await respond_ephemeral(str(url), text, settings):
        return
    if channel:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    else:
        await client.chat_postMessage(channel=user, text=text)
