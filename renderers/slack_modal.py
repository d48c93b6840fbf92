"""One step of a task as a Block Kit modal, and its submission back to answers.

Slack cannot collect files or signatures, so a step with such a field is answered in the
browser as a whole: its answers are validated together, and Slack could not show an error
next to a field it does not display. Such a view has no input blocks, so no submit button.
A step too big for a modal (Slack rejects views over 250 kB) is sent to the browser too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.domain.fields import UPLOAD_KINDS
from api.domain.task import CalloutBlock, InputBlock, MdsvexBlock, Step, Task
from renderers import budget
from renderers.mrkdwn import to_mrkdwn
from renderers.slack_blocks import (
    Block,
    callout,
    context,
    escaped,
    header,
    link,
    plain,
    sections,
    web_button,
    web_step_url,
)
from renderers.slack_fields import input_block, parse_value
from renderers.slack_ids import CALLBACK_STEP, VALUE_ACTION, field_block_id, step_metadata

MAX_BLOCKS = 100
MAX_VIEW_SIZE = 240_000  # JSON as slack_sdk sends it (ASCII); Slack's limit is 250 kB
TEXT_SIZE = 120_000  # room for markdown, so the inputs always fit beside it


def needs_browser(step: Step) -> bool:
    """Whether the step has a field Slack cannot collect (file, signature)."""
    return any(f.kind in UPLOAD_KINDS for f in step.fields())


@budget.steps(budget.PAGE_STEPS)
def modal_view(task: Task, step_index: int, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The modal for one step (0-based), prefilled with the answers given so far; its
    markdown shares one page budget of parser steps."""
    if needs_browser(task.steps[step_index]):
        return _view(task, step_index, _browser_step(task, step_index, content=True))
    view = _view(task, step_index, _form_step(task, step_index, answers), submit=True)
    if _size(view) > MAX_VIEW_SIZE:
        return _view(task, step_index, _browser_step(task, step_index, content=False))
    return view


def parse_submission(
    task: Task, step_index: int, state_values: Mapping[str, Any]
) -> dict[str, Any]:
    """Typed answers from a submitted step's `view.state.values`, keyed by field name."""
    answers = {}
    for field in task.step_fields(step_index):
        state = state_values.get(field_block_id(field.name)) or {}
        value = parse_value(field, state.get(VALUE_ACTION) or {})
        if value is not None:
            answers[field.name] = value
    return answers


def view_errors(details: Iterable[Any]) -> dict[str, str]:
    """Validation details (loc "data.<name>") as `response_action: errors` per block."""
    errors: dict[str, str] = {}
    for detail in details:
        loc, msg = _detail(detail)
        if loc.startswith("data.") and len(loc) > len("data."):
            errors.setdefault(field_block_id(loc[len("data.") :]), msg[:2000])
    return errors


def _detail(detail: Any) -> tuple[str, str]:
    if isinstance(detail, Mapping):
        return str(detail.get("loc", "")), str(detail.get("msg", ""))
    return str(getattr(detail, "loc", "")), str(getattr(detail, "msg", ""))


def _view(task: Task, step_index: int, blocks: list[Block], submit: bool = False) -> Block:
    step, last = task.steps[step_index], step_index == len(task.steps) - 1
    view: Block = {
        "type": "modal",
        "callback_id": CALLBACK_STEP,
        "private_metadata": step_metadata(task.ref, step_index),
        "title": plain(task.title, 24),
        "close": plain("Cancel" if submit else "Close", 24),
        "blocks": [
            context(f"Step {step_index + 1} of {len(task.steps)}"),
            header(step.title if step.title.strip() else f"Step {step_index + 1}"),
            *blocks,
        ],
    }
    if submit:
        view["submit"] = plain("Submit" if last else "Next", 24)
    return view


def _size(view: Block) -> int:
    return len(json.dumps(view))


@dataclass
class _Budget:
    """What is left for text blocks once the fixed blocks are counted."""

    blocks: int
    size: int = TEXT_SIZE
    cut: bool = False

    def take(self, blocks: list[Block]) -> list[Block]:
        kept: list[Block] = []
        for block in blocks:
            cost = _size(block)
            if self.blocks < 1 or cost > self.size:
                self.cut = True
                break
            self.blocks, self.size = self.blocks - 1, self.size - cost
            kept.append(block)
        return kept

    def text(self, markdown: MdsvexBlock | CalloutBlock | str | None) -> list[Block]:
        """Sections of `markdown` while the budget lasts. Once cut, the rest is not even
        converted (up to ~60 ms per 20 kB block, on Slack's 3 s clock), and text after the
        cut would read out of order anyway."""
        if self.cut or not markdown:
            return []
        return self.take(_content(markdown))


def _form_step(task: Task, step_index: int, answers: Mapping[str, Any]) -> list[Block]:
    step = task.steps[step_index]
    inputs = len({f.name for f in step.fields()})
    budget = _Budget(blocks=MAX_BLOCKS - 3 - inputs)  # 2 heading blocks + 1 notice
    blocks = budget.text(step.description_mdsvex)
    seen: set[str] = set()
    for item in step.blocks:
        if isinstance(item, InputBlock):
            if item.field.name not in seen:  # Slack rejects duplicate block ids
                seen.add(item.field.name)
                blocks.append(input_block(item.field, answers.get(item.field.name)))
        else:
            blocks.extend(budget.text(item))
    return [*blocks, *_cut_notice(task, step_index, budget)]


def _content(block: MdsvexBlock | CalloutBlock | str) -> list[Block]:
    if isinstance(block, str):
        return sections(to_mrkdwn(block))
    text = to_mrkdwn(block.content)
    if isinstance(block, CalloutBlock) and text:
        text = callout(block.severity, text)
    return sections(text)


def _cut_notice(task: Task, step_index: int, budget: _Budget) -> list[Block]:
    if not budget.cut:
        return []
    browser = link(web_step_url(task, step_index), "the browser")
    return [context(f"Some text of this step is too long for Slack; read it all in {browser}.")]


def _browser_step(task: Task, step_index: int, *, content: bool) -> list[Block]:
    step, budget = task.steps[step_index], _Budget(blocks=MAX_BLOCKS - 5)
    blocks: list[Block] = []
    if content:
        blocks = budget.text(step.description_mdsvex)
        for item in step.blocks:
            if not isinstance(item, InputBlock):
                blocks.extend(budget.text(item))
    return [
        *blocks,
        {"type": "section", "text": {"type": "mrkdwn", "text": _browser_reason(step, content)}},
        {"type": "actions", "elements": [_continue_button(task, step_index)]},
        *_cut_notice(task, step_index, budget),
    ]


def _browser_reason(step: Step, uploads: bool) -> str:
    if not uploads:
        return "This step is too large to show in Slack. Please continue in the browser."
    labels = [f"*{escaped(f.label, 100)}*" for f in step.fields() if f.kind in UPLOAD_KINDS]
    shown = ", ".join(labels[:10]) + (f" and {len(labels) - 10} more" if len(labels) > 10 else "")
    return (
        f"This step includes {shown}, which Slack cannot collect (files and signatures). "
        "Your answers so far are saved: continue this step in the browser."
    )


def _continue_button(task: Task, step_index: int) -> dict[str, Any]:
    return {**web_button("Continue in browser", web_step_url(task, step_index)), "style": "primary"}
