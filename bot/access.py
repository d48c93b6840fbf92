"""Who may answer a task from Slack: the lookup by the ref a button or modal carries, and
the permission check every interaction runs before it changes anything.

Store calls are synchronous (Redis); they run in a thread off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from api.domain.approval import Actor
from api.domain.errors import NotFound
from api.domain.task import CompletedBy, Task
from api.runtime import Services
from api.store.slack import LEGACY_ASSIGNEE, SlackState
from bot import notes
from bot.members import is_member
from renderers.slack_team import assignees_of


def _name(user: dict[str, Any]) -> str:
    return str(user.get("name") or user.get("username") or user["id"])


def completed_by(user: dict[str, Any]) -> CompletedBy:
    return CompletedBy(channel="slack", id=user["id"], name=_name(user))


def actor(user: dict[str, Any], assignee: str | None) -> Actor:
    """Who acts, as the service knows them: the member id or email of the assignee this
    Slack user answers for, else (a channel member) their Slack user id."""
    known = assignee is not None and assignee != LEGACY_ASSIGNEE
    who = assignee.partition(":")[2] if assignee is not None and known else user["id"]
    return Actor(channel="slack", id=who, name=_name(user))


def current_assignee(task: Task, assignee: str | None) -> bool:
    """Whether `assignee` (an Assignee.key) still has a place in the task (not after
    someone reassigned it)."""
    return assignee == LEGACY_ASSIGNEE or assignee in {a.key for a in assignees_of(task)}


async def may_answer(client: AsyncWebClient, task: Task, user_id: str, state: SlackState,
                     channel_id: str | None) -> bool:
    """An assignee, or (for a channel task) a member of the task's channel who clicked
    it there. Modal submissions carry no channel: they rely on the grant of that click."""
    if current_assignee(task, await asyncio.to_thread(state.assignee, task.ref, user_id)):
        return True
    if not task.slack_channel:
        return False
    if not channel_id or channel_id not in {m.channel for m in task.external_message_ids}:
        return await asyncio.to_thread(state.granted, task.ref, user_id)
    member = await is_member(client, state, channel_id, user_id)
    if member is None:  # Slack did not say: an earlier grant still holds
        return await asyncio.to_thread(state.granted, task.ref, user_id)
    if member:
        await asyncio.to_thread(state.grant, task.ref, user_id)
        return True
    await asyncio.to_thread(state.revoke, task.ref, user_id)
    return False


async def needs_member_list(services: Services, ref: str, body: dict[str, Any]) -> bool:
    """Whether deciding if the clicking person may answer waits on Slack: someone other
    than the assignee clicked a channel task in its channel, and that channel's members
    are not cached. A large channel's list takes many pages, longer than a click's 3 s
    trigger lasts."""
    channel = (body.get("channel") or {}).get("id")
    if not channel:
        return False
    state, user = SlackState(services.redis), body["user"]["id"]

    def check() -> bool:
        try:
            task = services.store.load(ref)
        except NotFound:
            return False
        in_its_channel = channel in {m.channel for m in task.external_message_ids}
        return bool(task.slack_channel) and in_its_channel \
            and not current_assignee(task, state.assignee(ref, user)) \
            and state.is_member(channel, user) is None

    return await asyncio.to_thread(check)


async def answerable(services: Services, client: AsyncWebClient, ref: str,
                     body: dict[str, Any]) -> Task | str:
    """The open task (by the ref a button or modal carries) this person may answer,
    or the note saying why not."""
    try:
        task = await asyncio.to_thread(services.store.load, ref)
    except NotFound:
        return notes.GONE
    channel = (body.get("channel") or {}).get("id")
    state = SlackState(services.redis)
    # checked first even for an ended task: who answered, when and why is not for everyone
    if not await may_answer(client, task, body["user"]["id"], state, channel):
        return notes.NOT_YOURS
    return task if task.open else notes.ended(task)


async def acting(services: Services, task: Task, user: dict[str, Any]) -> Actor:
    """The Actor a Slack user is for this task."""
    state = SlackState(services.redis)
    return actor(user, await asyncio.to_thread(state.assignee, task.ref, user["id"]))


def answer(services: Services, task: Task, data: dict[str, Any], user: dict[str, Any]) -> Task:
    """Answer the task as this Slack user: a team task records their response (the
    service decides whether it ends the task); an HPI task completes as it always did."""
    if not task.is_team:
        return services.tasks.complete(task, data, completed_by(user))
    assignee = SlackState(services.redis).assignee(task.ref, user["id"])
    return services.approvals.respond(task, actor(user, assignee), data)
