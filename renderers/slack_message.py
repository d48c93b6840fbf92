"""The Slack message of a task: while pending (buttons) and once it has an outcome."""

from __future__ import annotations

import re
from typing import Any

from api.domain.fields import CHOICE_KINDS
from api.domain.task import CalloutBlock, InputBlock, MdsvexBlock, Task
from renderers import budget
from renderers.mrkdwn import to_mrkdwn
from renderers.slack_blocks import (
    Block,
    button,
    callout,
    context,
    escaped,
    header,
    link,
    plain,
    section,
    sections,
    slack_date,
    split_mrkdwn,
    web_button,
)
from renderers.slack_ids import ACTION_LINK, ACTION_OPEN, quick_action_id, quick_value
from renderers.slack_team import (
    Audience,
    is_team,
    may_answer_here,
    moved_blocks,
    outcome_lines,
    team_controls,
    team_status,
)
from renderers.values import display_value

MAX_QUICK_OPTIONS = 5
TEXT_SECTIONS = 4  # per markdown text in a message; the browser form shows it all
PRIMARY = {"approve", "approved", "yes", "accept", "accepted", "confirm", "ok", "okay", "allow",
           "agree", "lgtm", "proceed", "ship"}
DANGER = {"reject", "rejected", "no", "deny", "denied", "decline", "declined", "refuse",
          "block", "abort", "cancel", "stop", "disapprove"}
PRIORITY = {"low": "Low", "medium": "Medium", "high": ":large_orange_circle: High",
            "urgent": ":red_circle: Urgent"}
_WORD = re.compile(r"\w+")
Message = dict[str, Any]
NOBODY = Audience()  # a message read by nobody in particular
OUTCOME_WORDS = {"completed": (":white_check_mark:", "Completed"),
                 "approved": (":white_check_mark:", "Approved"),
                 "rejected": (":x:", "Rejected")}


def is_quick_task(task: Task) -> bool:
    """One step whose only input is a required select or radio with a few options:
    answered straight from the message's buttons."""
    fields = task.steps[0].fields()
    return (
        len(task.steps) == 1
        and len(fields) == 1
        and fields[0].kind in CHOICE_KINDS
        and fields[0].required
        and len(fields[0].options or []) <= MAX_QUICK_OPTIONS
    )


def option_style(option: str) -> str | None:
    """The button style of an answer: "primary" to approve, "danger" to refuse, else None."""
    word = _WORD.search(option.lower())
    if word and word.group() in PRIMARY:
        return "primary"
    return "danger" if word and word.group() in DANGER else None


@budget.steps(budget.PAGE_STEPS)
def task_message(task: Task, audience: Audience = NOBODY) -> Message:
    """The message announcing a pending task to `audience`, with its buttons; its
    markdown shares one page budget of parser steps. A channel's message holds no link
    to the web form (the link answers the task): its Open in browser button asks the
    bot, which gives the link privately to whoever may answer (ACTION_LINK)."""
    if audience.moved:
        return _moved_message(task, audience)
    web = None if audience.channel else task.url
    blocks = [header(task.title), *_markdown(task.instructions_mdsvex, web)]
    if is_quick_task(task):
        blocks.extend(_quick_content(task, web))
    blocks.append(_details(task, audience))
    if is_team(task):
        blocks.extend(context(line) for line in team_status(task, audience))
    blocks.extend(_actions(task, audience, web))
    return {"text": f"New task: {escaped(task.title, 500)}", "blocks": blocks}


def _actions(task: Task, audience: Audience, web: str | None) -> list[Block]:
    """The answer buttons (while this reader may answer), then the team's controls."""
    answer = may_answer_here(task, audience) if is_team(task) else True
    elements = (_quick_elements(task, web) if is_quick_task(task)
                else _form_elements(task, web)) if answer else [_web_button(task, web)]
    if is_team(task):
        elements.extend(team_controls(task, audience))
    return [{"type": "actions", "elements": elements}]


def _moved_message(task: Task, audience: Audience) -> Message:
    blocks = [header(task.title), *moved_blocks(audience), _details(task, audience)]
    return {"text": f"{escaped(task.title, 500)}: reassigned", "blocks": blocks}


def _continued(web: str | None) -> Block:
    return context(f"_… continued in {link(web, 'the browser') if web else 'the form'}._")


def _web_button(task: Task, web: str | None) -> dict[str, Any]:
    if web:
        return web_button("Open in browser", web)
    return button("Open in browser", ACTION_LINK, value=task.ref)


def _markdown(markdown: str | None, web: str | None,
              severity: str | None = None) -> list[Block]:
    body = to_mrkdwn(markdown or "")
    chunks = split_mrkdwn(callout(severity, body) if severity else body) if body else []
    if len(chunks) <= TEXT_SECTIONS:
        return [section(chunk) for chunk in chunks]
    return [section(chunk) for chunk in chunks[:TEXT_SECTIONS]] + [_continued(web)]


def _quick_content(task: Task, web: str | None) -> list[Block]:
    """What the modal would show before the buttons: the step's title, description and
    text (a quick task never opens a modal, so this is all the person reads)."""
    step = task.steps[0]
    content = [step.description_mdsvex, *(b for b in step.blocks if not isinstance(b, InputBlock))]
    blocks = [block for item in content for block in _callout_or_markdown(item, web)]
    if len(blocks) > TEXT_SECTIONS:  # a message holds 50 blocks; the browser shows all
        blocks = [*blocks[:TEXT_SECTIONS], _continued(web)]
    label = sections(f"*{escaped(step.fields()[0].label, 2000)}*")
    return [*_step_title(task), *blocks, *label]


def _step_title(task: Task) -> list[Block]:
    title = task.steps[0].title.strip()
    if not title or title == task.title.strip():
        return []  # the header says it already
    return [section(f"*{escaped(title, 200)}*")]


def _callout_or_markdown(item: MdsvexBlock | CalloutBlock | str | None,
                         web: str | None) -> list[Block]:
    if item is None or isinstance(item, str):
        return _markdown(item, web)
    severity = item.severity if isinstance(item, CalloutBlock) else None
    return _markdown(item.content, web, severity)


def _details(task: Task, audience: Audience) -> Block:
    parts = [f"*Priority:* {PRIORITY[task.priority]}"]
    if task.due_at:
        parts.append(f"*Due:* {slack_date(task.due_at)}")
    parts.append(f"*From:* {escaped(audience.creator or task.created_by, 200)}")
    if not is_team(task) and task.assignee_name and task.assignee_name.strip():
        parts.append(f"*For:* {escaped(task.assignee_name, 200)}")
    return context(*parts)


def _form_elements(task: Task, web: str | None) -> list[dict[str, Any]]:
    open_form = button("Open form", ACTION_OPEN, value=task.ref, style="primary")
    return [open_form, _web_button(task, web)]


def _quick_elements(task: Task, web: str | None) -> list[dict[str, Any]]:
    # One actions block, buttons side by side: each has its own action id (Slack wants
    # them unique within a block), the option also travels in the value.
    options = task.steps[0].fields()[0].options or []
    elements = [_quick_button(task, i, o) for i, o in enumerate(options)]
    return [*elements, _web_button(task, web)]


def _quick_button(task: Task, index: int, option: str) -> dict[str, Any]:
    element = button(option, quick_action_id(index), value=quick_value(task.ref, index))
    style = option_style(option)
    if style:
        element["style"] = style
    if style == "danger":
        element["confirm"] = {
            "title": plain("Are you sure?", 100),
            "text": plain(f"Answer “{option}” to “{task.title}”?", 300),
            "confirm": plain(option, 30),
            "deny": plain("Cancel", 30),
            "style": "danger",
        }
    return element


def outcome_message(task: Task, audience: Audience = NOBODY) -> Message:
    """The message once the task is completed, cancelled or failed: no buttons left.
    A task still open gets its `task_message`."""
    if task.open:
        return task_message(task, audience)
    if audience.moved:
        return _moved_message(task, audience)
    status, lines = _OUTCOMES[task.status](task)
    team = [context(line) for line in outcome_lines(task)] if is_team(task) else []
    blocks = [header(task.title), *sections(status), *team, *lines, _details(task, audience)]
    return {"text": f"{escaped(task.title, 500)}: {task.status}", "blocks": blocks[:50]}


def _completed(task: Task) -> tuple[str, list[Block]]:
    who = escaped(task.completed_by.name, 200) if task.completed_by else "someone"
    when = f" {slack_date(task.completed_at)}" if task.completed_at else ""
    mark, verb = OUTCOME_WORDS.get(task.outcome or "completed", OUTCOME_WORDS["completed"])
    return f"{mark} {verb} by *{who}*{when}", _summary(task)


def _summary(task: Task, limit: int = 20_000) -> list[Block]:
    lines, size = [], 0
    answered = [f for f in task.fields() if f.name in task.data]
    for shown, field in enumerate(answered):
        line = (f"*{escaped(field.label, 200)}:* "
                f"{escaped(display_value(field, task.data[field.name]), 500)}")
        if size + len(line) > limit:
            lines.append(f"_… and {len(answered) - shown} more answers_")
            break
        lines.append(line)
        size += len(line) + 1
    return sections("\n".join(lines))


def _ended_at(task: Task) -> str:
    return f" {slack_date(task.ended_at)}" if task.ended_at else ""


def _cancelled(task: Task) -> tuple[str, list[Block]]:
    reason = task.cancel_reason and task.cancel_reason.strip()
    detail = f"\n*Reason:* {escaped(reason, 2000)}" if reason else ""
    by = f" by *{escaped(task.cancelled_by.name, 200)}*" if task.cancelled_by else ""
    return f":no_entry_sign: Cancelled{by}{_ended_at(task)}{detail}", []


def _failed(task: Task) -> tuple[str, list[Block]]:
    expired = any("expire" in e.code for e in task.errors)
    status = (":hourglass: Expired" if expired else ":warning: Failed") + _ended_at(task)
    lines = [f"• {escaped(e.code, 100)}: {escaped(e.message, 400)}" for e in task.errors[:5]]
    return "\n".join([status, *lines]), []


_OUTCOMES = {"completed": _completed, "cancelled": _cancelled, "failed": _failed}
