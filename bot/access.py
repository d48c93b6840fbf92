"""Shared steps of every interaction: find the task, check who clicked, tell them why not.

Store calls are synchronous (Redis); they run in a thread off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from api.domain.errors import NotFound
from api.domain.task import CompletedBy, Task
from api.runtime import Services
from api.store.slack import SlackState
from bot import notes
from bot.members import is_member
from bot.respond import respond_ephemeral

T = TypeVar("T")
SERVICES = "inloop_services"
log = logging.getLogger(__name__)
ButtonListener = Callable[[dict[str, Any], dict[str, Any], AsyncWebClient, AsyncBoltContext],
                          Awaitable[None]]


async def call(func: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(func, *args)


def services_of(context: AsyncBoltContext) -> Services:
    found: Services = context[SERVICES]
    return found


def completed_by(user: dict[str, Any]) -> CompletedBy:
    name = user.get("name") or user.get("username") or user["id"]
    return CompletedBy(channel="slack", id=user["id"], name=name)


async def may_answer(client: AsyncWebClient, task: Task, user_id: str, state: SlackState,
                     channel_id: str | None) -> bool:
    """The assignee, or (for a channel task) a member of the task's channel who clicked
    it there. Modal submissions carry no channel: they rely on the grant of that click."""
    if await call(state.assignee, task.ref) == user_id:
        return True
    if not task.slack_channel:
        return False
    if not channel_id or channel_id not in {m.channel for m in task.external_message_ids}:
        return await call(state.granted, task.ref, user_id)
    member = await is_member(client, state, channel_id, user_id)
    if member is None:  # Slack did not say: an earlier grant still holds
        return await call(state.granted, task.ref, user_id)
    if member:
        await call(state.grant, task.ref, user_id)
        return True
    await call(state.revoke, task.ref, user_id)
    return False


async def tell(services: Services, client: AsyncWebClient, body: dict[str, Any],
               text: str) -> None:
    """A note only the clicking person sees: ephemeral in a channel (through the
    interaction's response_url, else chat.postEphemeral), else in their DM."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    url = body.get("response_url")
    if url and await respond_ephemeral(str(url), text, services.settings):
        return
    if channel:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    else:
        await client.chat_postMessage(channel=user, text=text)


async def answerable(services: Services, client: AsyncWebClient, ref: str,
                     body: dict[str, Any]) -> Task | str:
    """The pending task (by the ref a button or modal carries) this person may answer,
    or the note saying why not."""
    try:
        task = await call(services.store.load, ref)
    except NotFound:
        return notes.GONE
    channel = (body.get("channel") or {}).get("id")
    state = SlackState(services.redis)
    # checked first even for an ended task: who answered, when and why is not for everyone
    if not await may_answer(client, task, body["user"]["id"], state, channel):
        return notes.NOT_YOURS
    return task if task.status == "pending" else notes.ended(task)


def ack_first(listener: ButtonListener) -> Callable[..., Awaitable[None]]:
    """A button listener that acks at once, then does the slow part.

    Failures after the ack are logged here: Bolt's own error path resets an acked
    request's response, so a failure within ~10 ms of the ack would make Bolt wait 3 s
    and answer Slack 404. Bolt reads the listener's argument names, hence no `wraps`.
    """

    async def run(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                  client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        try:
            await listener(body, action, client, context)
        except Exception:
            log.exception("Slack %s after ack failed", action.get("action_id"))

    return run
