"""Message and App Home buttons: open a task's form, answer a quick task, web links
(a channel's Open in browser gives the link privately, once the clicker may answer).

A click is acked at once (Slack waits 3 s) and the work runs after it, as Bolt lazy
listeners. Bolt logs a failing lazy listener with its message only, so `after_ack` logs
the traceback here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from api.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from api.domain.task import Task
from api.runtime import Services
from bot import notes
from bot.access import answer, answerable, needs_member_list
from bot.drafts import load_draft
from bot.respond import tell
from bot.steps import resume_step
from renderers.slack_ids import ACTION_LINK, ACTION_OPEN, ACTION_WEB, QUICK_ACTION, QuickAnswer
from renderers.slack_interim import checking_view, note_view
from renderers.slack_modal import modal_view

log = logging.getLogger(__name__)
Listener = Callable[[Services, dict[str, Any], dict[str, Any], AsyncWebClient],
                    Awaitable[None]]


def register(app: AsyncApp, services: Services) -> None:
    app.action(ACTION_OPEN)(ack=just_ack, lazy=[after_ack(services, open_form)])
    app.action(QUICK_ACTION)(ack=just_ack, lazy=[after_ack(services, quick_answer)])
    app.action(ACTION_LINK)(ack=just_ack, lazy=[after_ack(services, web_link)])
    app.action(ACTION_WEB)(just_ack)  # Slack opens the URL itself


async def just_ack(ack: AsyncAck) -> None:
    await ack()


def after_ack(services: Services, listener: Listener) -> Callable[..., Awaitable[None]]:
    """`listener` bound to the services, as a lazy listener (Bolt passes the arguments
    it names, hence no `wraps`, which would show Bolt the listener's own)."""

    async def lazy(body: dict[str, Any], action: dict[str, Any],
                   client: AsyncWebClient) -> None:
        try:
            await listener(services, body, action, client)
        except Exception:
            log.exception("Slack %s after ack failed", action.get("action_id"))

    lazy.__name__ = listener.__name__  # how Bolt names it in its logs
    return lazy


async def open_form(services: Services, body: dict[str, Any], action: dict[str, Any],
                    client: AsyncWebClient) -> None:
    """Open the modal at the first unfinished step, prefilled with the saved draft. When
    the channel's member list must come from Slack first, a "checking…" modal opens at
    once (the trigger lasts 3 s) and becomes the form, or the note, once it is known."""
    ref, shown = action["value"], None
    if await needs_member_list(services, ref, body):
        shown = await _show(services, client, body, ref, None, checking_view())
        if shown is None:
            return
    task = await answerable(services, client, ref, body)
    if isinstance(task, str):  # said in the open modal, else privately
        if shown is None:
            await tell(services.settings, client, body, task)
        else:
            await _show(services, client, body, ref, shown, note_view(task))
        return
    draft = await asyncio.to_thread(load_draft, services, task, body["user"]["id"])
    view = await asyncio.to_thread(modal_view, task, resume_step(task, draft), draft)
    await _show(services, client, body, ref, shown, view)


async def _show(services: Services, client: AsyncWebClient, body: dict[str, Any], ref: str,
                view_id: str | None, view: dict[str, Any]) -> str | None:
    """Open `view` (or replace the open `view_id` with it); the view's id, or None once
    the person was told that Slack would not show it."""
    try:
        if view_id is not None:
            await client.views_update(view_id=view_id, view=view)
            return view_id
        opened = await client.views_open(trigger_id=body["trigger_id"], view=view)
        return str(opened["view"]["id"])
    except SlackApiError as error:  # most often the 3 s trigger expired (a slow click)
        log.warning("views.%s failed for task %s: %s", "update" if view_id else "open",
                    ref, error.response.get("error"))
        await tell(services.settings, client, body, notes.FORM_NOT_OPENED)
        return None


async def web_link(services: Services, body: dict[str, Any], action: dict[str, Any],
                   client: AsyncWebClient) -> None:
    """Open in browser on a channel's message: the web form's link, told privately to
    whoever may answer (the same check as Open form's), else why not."""
    task = await answerable(services, client, action["value"], body)
    await tell(services.settings, client, body,
               task if isinstance(task, str) else notes.web_link(task))


async def quick_answer(services: Services, body: dict[str, Any], action: dict[str, Any],
                       client: AsyncWebClient) -> None:
    """Complete a one-question task with the clicked option."""
    quick = QuickAnswer.model_validate_json(action["value"])
    task = await answerable(services, client, quick.ref, body)
    if isinstance(task, str):
        await tell(services.settings, client, body, task)
        return
    note = await _complete_quick(services, task, quick.option, body["user"])
    if note:
        await tell(services.settings, client, body, note)


async def _complete_quick(services: Services, task: Task, option: int,
                          user: dict[str, Any]) -> str | None:
    field = task.steps[0].fields()[0]
    if not 0 <= option < len(field.options or []):
        return "That option is not offered any more."
    try:
        await asyncio.to_thread(answer, services, task,
                                {field.name: (field.options or [])[option]}, user)
    except (Conflict, Forbidden) as error:
        return notes.refused(await asyncio.to_thread(services.store.load, task.ref), error)
    except NotFound:
        return notes.GONE
    except InvalidRequest as error:
        return "; ".join(d.msg for d in error.details) or "The answer was not accepted."
    return None
