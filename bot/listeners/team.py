"""Team tasks' controls (issue 12): Claim and Release buttons, the overflow menu's
Reassign, and the reassign modal's submission.

The service decides (who holds the claim, who may reassign whom); the bot maps the Slack
user to the assignee they answer for and tells the clicking person why nothing changed.
Messages are updated by the jobs the service enqueues with each change.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from api.domain.approval import EmailAssignee
from api.domain.errors import Conflict, Forbidden, InloopError, InvalidRequest, NotFound
from api.domain.task import Task
from api.runtime import Services
from bot import notes
from bot.access import acting, answerable
from bot.listeners.actions import after_ack, just_ack
from bot.respond import tell
from renderers.slack_ids import (
    ACTION_CLAIM,
    ACTION_MENU,
    ACTION_RELEASE,
    CALLBACK_REASSIGN,
    REASSIGN_REASON,
    REASSIGN_TO,
    VALUE_ACTION,
    MenuChoice,
    ReassignOf,
)
from renderers.slack_threads import reassign_view

log = logging.getLogger(__name__)
Refusal = (Conflict, Forbidden, InvalidRequest)


def register(app: AsyncApp, services: Services) -> None:
    app.action(ACTION_CLAIM)(ack=just_ack, lazy=[after_ack(services, claim)])
    app.action(ACTION_RELEASE)(ack=just_ack, lazy=[after_ack(services, release)])
    app.action(ACTION_MENU)(ack=just_ack, lazy=[after_ack(services, menu)])
    app.view(CALLBACK_REASSIGN)(partial(submit_reassign, services))


async def claim(services: Services, body: dict[str, Any], action: dict[str, Any],
                client: AsyncWebClient) -> None:
    await _change(services, body, action["value"], client, "claim")


async def release(services: Services, body: dict[str, Any], action: dict[str, Any],
                  client: AsyncWebClient) -> None:
    await _change(services, body, action["value"], client, "release")


async def _change(services: Services, body: dict[str, Any], ref: str,
                  client: AsyncWebClient, what: str) -> None:
    """Claim or release as the clicking person; a note if the service says no."""
    task = await answerable(services, client, ref, body)
    if isinstance(task, str):
        await tell(services.settings, client, body, task)
        return
    change = getattr(services.approvals, what)
    try:
        await asyncio.to_thread(change, task, await acting(services, task, body["user"]))
    except Refusal as error:
        await tell(services.settings, client, body, await _refused(services, ref, error))


async def menu(services: Services, body: dict[str, Any], action: dict[str, Any],
               client: AsyncWebClient) -> None:
    """The overflow menu's Reassign opens the reassign modal."""
    choice = MenuChoice.model_validate_json(action["selected_option"]["value"])
    task = await answerable(services, client, choice.ref, body)
    if isinstance(task, str):
        await tell(services.settings, client, body, task)
        return
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=reassign_view(task))
    except SlackApiError as error:  # most often the 3 s trigger expired
        log.warning("views.open (reassign) failed for task %s: %s", task.ref,
                    error.response.get("error"))
        await tell(services.settings, client, body, notes.FORM_NOT_OPENED)


async def submit_reassign(services: Services, ack: AsyncAck, body: dict[str, Any],
                          view: dict[str, Any], client: AsyncWebClient) -> None:
    """Hand the submitter's place to the chosen Slack user (found by their email)."""
    ref = ReassignOf.model_validate_json(view["private_metadata"]).ref
    values = view["state"]["values"]
    chosen = (values.get(REASSIGN_TO) or {}).get(VALUE_ACTION, {}).get("selected_user")
    reason = (values.get(REASSIGN_REASON) or {}).get(VALUE_ACTION, {}).get("value")
    task = await answerable(services, client, ref, body)
    if isinstance(task, str):
        await ack(response_action="errors", errors={REASSIGN_TO: task})
        return
    problem = await _reassign(services, client, task, body["user"], chosen, reason)
    if problem:
        await ack(response_action="errors", errors={REASSIGN_TO: problem})
    else:
        await ack()


async def _reassign(services: Services, client: AsyncWebClient, task: Task,
                    user: dict[str, Any], chosen: Any, reason: str | None) -> str | None:
    """None once reassigned, else why not (shown on the modal's person field)."""
    to = await _assignee(client, chosen) if isinstance(chosen, str) else None
    if to is None:
        return "Choose a person Slack knows by an email address."
    actor = await acting(services, task, user)
    try:
        await asyncio.to_thread(services.approvals.reassign, task, actor, to,
                                reason=reason or None)
    except Refusal as error:
        return (await _refused(services, task.ref, error))[:2000]
    return None


async def _assignee(client: AsyncWebClient, user_id: str) -> EmailAssignee | None:
    """The assignee a Slack user is: their email (a member's email is that member)."""
    try:
        found = (await client.users_info(user=user_id))["user"]
    except SlackApiError as error:
        log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return None
    profile = found.get("profile") or {}
    email, name = profile.get("email"), found.get("real_name") or found.get("name")
    if not email or found.get("is_bot"):
        return None
    return EmailAssignee(email=email, name=str(name)[:200] if name else None)


async def _refused(services: Services, ref: str, error: InloopError) -> str:
    if isinstance(error, InvalidRequest):
        return "; ".join(d.msg for d in error.details) or error.message
    try:
        task = await asyncio.to_thread(services.store.load, ref)
    except NotFound:
        return notes.GONE
    return notes.refused(task, error)
