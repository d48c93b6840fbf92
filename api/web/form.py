"""The task form `/t/{link_id}`: one step per page, drafts between steps, completion.

GET only reads (a link-preview bot can never answer anything); every POST carries the
CSRF token, checked (like the task's state and the visitor's grant) before any file part
is read. The draft is the one Slack uses, so a task started there continues here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.domain.errors import Conflict, Forged, InvalidRequest
from api.domain.fields import UPLOAD_KINDS, validate_answers
from api.domain.task import CompletedBy, Task
from api.runtime import SERVICES
from api.web.access import gone_page, task_by_link, task_for_link, visitor
from api.web.form_input import Limits, StepAnswers, Submission, read_submission
from api.web.pages import html_response, message, render_step
from api.web.session import with_csrf

MIB = 1024 * 1024
def step_index(request: web.Request, task: Task) -> int:
    """`?step=N` (1-based), clamped to the task's steps."""
    try:
        number = int(request.query.get("step", "1"))
    except ValueError:
        number = 1
    return min(max(number, 1), len(task.steps)) - 1


async def open_task(request: web.Request) -> tuple[Task, CompletedBy] | web.Response:
    """The task and its visitor, or the page to show instead (404, 410, code needed)."""
    task = await task_for_link(request)
    if isinstance(task, web.Response):
        return task
    who = await visitor(request, task)
    if who is None:
        raise web.HTTPSeeOther(f"/t/{task.link_id}/verify")
    return task, who


async def step_page(request: web.Request, task: Task, index: int, answers: dict[str, Any],
                    errors: dict[str, str], status: int = 200) -> web.Response:
    """The step's page, rendered in a worker thread: its markdown may take a while."""

    async def render(token: str) -> web.Response:
        body = await asyncio.to_thread(render_step, task, index, answers, errors, csrf_token=token,
                                       action=f"/t/{task.link_id}?step={index + 1}")
        return html_response(body, status)

    return await with_csrf(request, render)


async def show_form(request: web.Request) -> web.Response:
    opened = await open_task(request)
    if isinstance(opened, web.Response):
        return opened
    task, _ = opened
    draft = await asyncio.to_thread(request.config_dict[SERVICES].drafts.load, task.ref)
    return await step_page(request, task, step_index(request, task), draft, {})


async def submit_form(request: web.Request) -> web.Response:
    opened = await open_task(request)
    if isinstance(opened, web.Response):
        return opened
    task, who = opened
    try:
        submission = await read_submission(request, _limits(request, task))
    except web.HTTPRequestEntityTooLarge:
        return message("Too large", "What you sent is larger than this form accepts.", 413)
    except Forged:
        return message("Please try again", "This form expired or was sent from another "
                       "page. Reload the page and send it again.", status=403)
    try:
        return await StepFlow(request, task, who).handle(submission)
    finally:
        await asyncio.to_thread(submission.discard)


def _limits(request: web.Request, task: Task) -> Limits:
    """A file per upload field of the step, a MiB of text, and never more than one
    request may hold."""
    settings = request.config_dict[SERVICES].settings
    uploads = sum(f.kind in UPLOAD_KINDS for f in task.step_fields(step_index(request, task)))
    total = min((uploads + 1) * settings.max_upload_bytes + MIB,
                settings.max_request_upload_bytes)
    return Limits(settings.max_upload_bytes, total, settings.incoming_dir)


class StepFlow:
    """One POST of one step: save what is valid, then go back, forward or complete."""

    def __init__(self, request: web.Request, task: Task, who: CompletedBy) -> None:
        self.request, self.task, self.who = request, task, who
        self.services = request.config_dict[SERVICES]
        self.index = step_index(request, task)

    async def handle(self, submission: Submission) -> web.Response:
        drafts = self.services.drafts
        draft = await asyncio.to_thread(drafts.load, self.task.ref)
        fields = self.task.step_fields(self.index)
        try:
            raw, errors = await self._answers(submission, draft)
        except Conflict:  # the task ended while its files arrived: none were kept
            return gone_page(await task_by_link(self.request))
        clean, details = validate_answers(fields, {k: v for k, v in raw.items()
                                                   if k not in errors})
        errors = {d.loc.split(".", 1)[1]: d.msg for d in details} | errors
        keep = {f.name: clean.get(f.name) for f in fields if f.name not in errors}
        try:
            draft = await asyncio.to_thread(drafts.save, self.task.ref, keep)
        except Conflict:
            return gone_page(await task_by_link(self.request))
        return await self._navigate(submission.fields.get("nav", "next"), draft, raw,
                                    errors)

    async def _answers(self, submission: Submission,
                       draft: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        collector = StepAnswers(self.task, self.services.file_answers,
                                self.services.settings.max_upload_bytes)
        return await collector.collect(self.task.step_fields(self.index), submission, draft)

    async def _navigate(self, nav: str, draft: dict[str, Any], raw: dict[str, Any],
                        errors: dict[str, str]) -> web.Response:
        if nav == "back":
            return self._redirect(max(self.index - 1, 0))
        if errors:
            return await step_page(self.request, self.task, self.index, {**draft, **raw},
                                   errors, status=400)
        if nav == "submit" and self.index == len(self.task.steps) - 1:
            return await self._complete(draft)
        return self._redirect(min(self.index + 1, len(self.task.steps) - 1))

    def _redirect(self, index: int) -> web.Response:
        raise web.HTTPSeeOther(f"/t/{self.task.link_id}?step={index + 1}")

    async def _complete(self, draft: dict[str, Any]) -> web.Response:
        data = {k: v for k, v in draft.items() if v is not None}
        try:
            await asyncio.to_thread(self.services.tasks.complete, self.task, data, self.who)
        except Conflict:
            return gone_page(await task_by_link(self.request))
        except InvalidRequest as error:
            return await self._first_error_step(draft, error)
        return message("Thank you!", f"Your answers to \u201c{self.task.title}\u201d were "
                       "sent.")

    async def _first_error_step(self, draft: dict[str, Any],
                                error: InvalidRequest) -> web.Response:
        errors = {d.loc.split(".", 1)[-1]: d.msg for d in error.details}
        index = next((i for i, step in enumerate(self.task.steps)
                      if any(f.name in errors for f in step.fields())), self.index)
        return await step_page(self.request, self.task, index, draft, errors, status=400)
