"""Modal submissions: validate a step, save it as the draft, go on or complete the task.

Everything happens before the ack because the ack carries the answer Slack shows
(`errors`, the next step's view, or nothing to close); it is a few Redis round trips and
a render, which runs in a thread so a large step never stalls other requests' acks.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from api.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from api.domain.fields import validate_answers
from api.domain.task import Task
from api.runtime import Services
from bot import notes
from bot.access import answer, answerable
from bot.drafts import save_draft
from bot.steps import resume_step
from renderers.slack_ids import CALLBACK_STEP, StepOf, field_block_id
from renderers.slack_modal import modal_view, parse_submission, view_errors

Response = dict[str, Any]


def register(app: AsyncApp, services: Services) -> None:
    app.view(CALLBACK_STEP)(partial(submit_step, services))


async def submit_step(services: Services, ack: AsyncAck, body: dict[str, Any],
                      view: dict[str, Any], client: AsyncWebClient) -> None:
    meta = StepOf.model_validate_json(view["private_metadata"])
    await ack(**await _respond(services, client, body, view, meta.step, meta.ref))


def _note(view: dict[str, Any], text: str) -> Response:
    """A note shown on the first input of the submitted view."""
    blocks = list(view.get("state", {}).get("values", {}))
    return {"response_action": "errors", "errors": {blocks[0]: text}} if blocks else {}


async def _respond(services: Services, client: AsyncWebClient, body: dict[str, Any],
                   view: dict[str, Any], step: int, ref: str) -> Response:
    task = await answerable(services, client, ref, body)
    if isinstance(task, str):
        return _note(view, task)
    if step >= len(task.steps):  # not a step of this task: no modal inloop opened
        return _note(view, notes.STALE_FORM)
    answers = parse_submission(task, step, view["state"]["values"])
    clean, details = validate_answers(task.step_fields(step), answers)
    if details:
        return {"response_action": "errors", "errors": view_errors(details)}
    # Every field of the step, unanswered ones as None: the step counts as submitted
    # (bot.steps.finished); completion drops the Nones.
    submitted = {f.name: clean.get(f.name) for f in task.step_fields(step)}
    try:
        draft = await asyncio.to_thread(save_draft, services, task, body["user"]["id"], submitted)
    except (Conflict, NotFound):
        return _note(view, await _ended(services, ref))
    if step + 1 < len(task.steps):
        return {"response_action": "update",
                "view": await asyncio.to_thread(modal_view, task, step + 1, draft)}
    return await _finish(services, task, step, draft, body["user"], view)


async def _finish(services: Services, task: Task, step: int, draft: dict[str, Any],
                  user: dict[str, Any], view: dict[str, Any]) -> Response:
    """Complete with every answer; errors outside this step reopen the step they are in."""
    try:
        await asyncio.to_thread(answer, services, task, draft, user)
    except (Conflict, Forbidden) as error:
        return _note(view, await _refused(services, task.ref, error))
    except NotFound:
        return _note(view, notes.GONE)
    except InvalidRequest as error:
        shown = {field_block_id(f.name) for f in task.step_fields(step)}
        errors = {k: v for k, v in view_errors(error.details).items() if k in shown}
        if errors:
            return {"response_action": "errors", "errors": errors}
        return {"response_action": "update",
                "view": await asyncio.to_thread(modal_view, task, resume_step(task, draft), draft)}
    return {}


async def _refused(services: Services, ref: str, error: Conflict | Forbidden) -> str:
    try:
        return notes.refused(await asyncio.to_thread(services.store.load, ref), error)
    except NotFound:
        return notes.GONE


async def _ended(services: Services, ref: str) -> str:
    try:
        return notes.ended(await asyncio.to_thread(services.store.load, ref))
    except NotFound:
        return notes.GONE
