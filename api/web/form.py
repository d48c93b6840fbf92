"""The task form `/t/{link_id}`: one step per page, drafts between steps, completion.

GET only reads (a link-preview bot can never answer anything); every POST carries the
CSRF token, checked (like the task's state and the visitor's grant) before any file part
is read. The draft is the one Slack uses, so a task started there continues here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.domain.errors import Conflict, Forbidden, Forged, InvalidRequest
from api.domain.fields import UPLOAD_KINDS, validate_answers
from api.domain.task import Task
from api.runtime import SERVICES
from api.web.access import Visitor, gone_page, task_by_link, task_for_link, visitor
from api.web.form_input import Limits, StepAnswers, Submission, read_submission
from api.web.pages import html_response, message, render_step
from api.web.session import with_csrf
from api.web.team import blocked, claim_or_release, team_view

MIB = 1024 * 1024
def step_index(request: web.Request, task: Task) -> int:
    """`?step=N` (1-based), clamped to the task's steps."""
    try:
        number = int(request.query.get("step", "1"))
    except ValueError:
        number = 1
    return min(max(number, 1), len(task.steps)) - 1


async def open_task(request: web.Request) -> tuple[Task, Visitor] | web.Response:
    """The task and its visitor, or the page to show instead (404, 410, code needed, and
    on a team task: not an assignee, responded already, claimed by someone else)."""
    task = await task_for_link(request)
    if isinstance(task, web.Response):
        return task
    who = await visitor(request, task)
    if who is None:
        raise web.HTTPSeeOther(f"/t/{task.link_id}/verify")
    return blocked(task, who) or (task, who)


def draft_owner(task: Task, who: Visitor) -> str | None:
    """Whose draft the visitor fills: their own on a team task, else the task's one."""
    return who.id if task.is_team else None


async def step_page(request: web.Request, task: Task, who: Visitor, index: int,
                    answers: dict[str, Any], errors: dict[str, str],
                    status: int = 200) -> web.Response:
    """The step's page, rendered in a worker thread: its markdown may take a while."""

    async def render(token: str) -> web.Response:
        body = await asyncio.to_thread(render_step, task, index, answers, errors, csrf_token=token,
                                       action=f"/t/{task.link_id}?step={index + 1}",
                                       team=team_view(task, who))
        return html_response(body, status)

    return await with_csrf(request, render)


async def show_form(request: web.Request) -> web.Response:
    opened = await open_task(request)
    if isinstance(opened, web.Response):
        return opened
    task, who = opened
    draft = await asyncio.to_thread(request.config_dict[SERVICES].drafts.load, task.ref,
                                    draft_owner(task, who))
    return await step_page(request, task, who, step_index(request, task), draft, {})


async def claim(request: web.Request) -> web.Response:
    return await _claim_action(request, "claim")


async def release(request: web.Request) -> web.Response:
    return await _claim_action(request, "release")


async def _claim_action(request: web.Request, action: str) -> web.Response:
    opened = await open_task(request)
    if isinstance(opened, web.Response):
        return opened
    return await claim_or_release(request, *opened, action)


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

    def __init__(self, request: web.Request, task: Task, who: Visitor) -> None:
        self.request, self.task, self.who = request, task, who
        self.services = request.config_dict[SERVICES]
        self.index = step_index(request, task)
        self.owner = draft_owner(task, who)

    async def handle(self, submission: Submission) -> web.Response:
        drafts = self.services.drafts
        draft = await asyncio.to_thread(drafts.load, self.task.ref, self.owner)
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
            draft = await asyncio.to_thread(drafts.save, self.task.ref, keep, self.owner)
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
            return await step_page(self.request, self.task, self.who, self.index,
                                   {**draft, **raw}, errors, status=400)
        if nav == "submit" and self.index == len(self.task.steps) - 1:
            return await self._complete(draft)
        return self._redirect(min(self.index + 1, len(self.task.steps) - 1))

    def _redirect(self, index: int) -> web.Response:
        raise web.HTTPSeeOther(f"/t/{self.task.link_id}?step={index + 1}")

    async def _complete(self, draft: dict[str, Any]) -> web.Response:
        data = {k: v for k, v in draft.items() if v is not None}
        try:
            task = await asyncio.to_thread(self._answer, data)
        except Conflict:
            return blocked(latest := await task_by_link(self.request), self.who) or \
                gone_page(latest)
        except Forbidden as error:
            return message("Not yours to answer", error.message, 403)
        except InvalidRequest as error:
            return await self._first_error_step(draft, error)
        return message("Thank you!", f"Your answers to \u201c{self.task.title}\u201d were "
                       "sent." + ("" if not task.open else " The task ends once enough "
                                  "people have responded."))

    def _answer(self, data: dict[str, Any]) -> Task:
        """A team task records the visitor's response; any other task completes."""
        if self.task.is_team:
            return self.services.approvals.respond(self.task, self.who.actor(), data,
                                                   admin=self.who.admin)
        return self.services.tasks.complete(self.task, data, self.who.completed_by())

    async def _first_error_step(self, draft: dict[str, Any],
                                error: InvalidRequest) -> web.Response:
        errors = {d.loc.split(".", 1)[-1]: d.msg for d in error.details}
        index = next((i for i, step in enumerate(self.task.steps)
                      if any(f.name in errors for f in step.fields())), self.index)
        return await step_page(self.request, self.task, self.who, index, draft, errors,
                               status=400)
