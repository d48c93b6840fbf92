"""Slack surfaces of a task: the message, the step modals, the App Home, and back.

Everything here is a pure function returning Block Kit JSON (dicts) within Slack's limits;
the bot sends it. Ids the bot dispatches on:

- `ACTION_OPEN` button (value: the task's ref, `Task.ref`) opens step 1 in a modal;
- `ACTION_QUICK` buttons (value: `{"t": ref, "o": option_index}`) answer a quick task;
- `ACTION_WEB` url buttons only need an ack;
- `CALLBACK_STEP` modals carry `{"ref", "step"}` in `private_metadata`; their input
  blocks are `field_block_id(name)` with action id "value".
"""

from renderers.slack_blocks import (
    ACTION_OPEN,
    ACTION_QUICK,
    ACTION_WEB,
    CALLBACK_STEP,
    VALUE_ACTION,
    context,
    field_block_id,
    web_step_url,
)
from renderers.slack_home import home_view
from renderers.slack_message import is_quick_task, option_style, outcome_message, task_message
from renderers.slack_modal import modal_view, needs_browser, parse_submission, view_errors


def notice_blocks(text: str) -> list[dict[str, object]]:
    """A one-line notice (mrkdwn, already escaped) as blocks, e.g. for an ephemeral reply."""
    return [context(text)]


__all__ = [
    "ACTION_OPEN",
    "ACTION_QUICK",
    "ACTION_WEB",
    "CALLBACK_STEP",
    "VALUE_ACTION",
    "field_block_id",
    "home_view",
    "is_quick_task",
    "modal_view",
    "needs_browser",
    "notice_blocks",
    "option_style",
    "outcome_message",
    "parse_submission",
    "task_message",
    "view_errors",
    "web_step_url",
]
