"""Message and App Home buttons: open a task's form, answer a quick task, web links."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from api.domain.errors import Conflict, InvalidRequest, NotFound
from api.domain.task import Task
from bot import notes
from bot.access import ack_first, answerable, call, completed_by, services_of, tell
from bot.drafts import load_draft
from bot.steps import resume_step
from renderers.slack_ids import ACTION_OPEN, ACTION_QUICK, ACTION_WEB, QuickAnswer
from renderers.slack_modal import modal_view

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.action(ACTION_OPEN)(ack_first(open_form))
    app.action(ACTION_QUICK)(ack_first(quick_answer))
    app.action(ACTION_WEB)(web_link)


async def web_link(ack: AsyncAck) -> None:
    await ack()  # Slack opens the URL itself; the click only needs an ack


async def open_form(body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                    context: AsyncBoltContext) -> None:
    """Open the modal at the first unfinished step, prefilled with the saved draft."""
    services = services_of(context)
    task = await answerable(services, client, action["value"], body)
    if isinstance(task, str):
        await tell(services, client, body, task)
        return
    draft = await call(load_draft, services, task, body["user"]["id"])
    view = await call(modal_view, task, resume_step(task, draft), draft)
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as error:  # most often the 3 s trigger expired (a slow click)
        log.warning("views.open failed for task %s: %s", task.ref,
                    error.response.get("error"))
        await tell(services, client, body, notes.FORM_NOT_OPENED)


async def quick_answer(body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                       context: AsyncBoltContext) -> None:
    """Complete a one-question task with the clicked option."""
    services = services_of(context)
    quick = QuickAnswer.model_validate_json(action["value"])
    task = await answerable(services, client, quick.ref, body)
    if isinstance(task, str):
        await tell(services, client, body, task)
        return
    note = await _complete_quick(context, task, quick.option, body["user"])
    if note:
        await tell(services, client, body, note)


async def _complete_quick(context: AsyncBoltContext, task: Task, option: int,
                          user: dict[str, Any]) -> str | None:
    services = services_of(context)
    field = task.steps[0].fields()[0]
    if not 0 <= option < len(field.options or []):
        return "That option is not offered any more."
    try:
        await call(services.tasks.complete, task, {field.name: (field.options or [])[option]},
                   completed_by(user))
    except (Conflict, NotFound):
        return notes.ended(await call(services.store.load, task.ref))
    except InvalidRequest as error:
        return "; ".join(d.msg for d in error.details) or "The answer was not accepted."
    return None
