"""Every id inloop's Slack surfaces carry and the bot dispatches on, encoded and decoded here.

- `ACTION_OPEN` button: its value is the task's ref (`Task.ref`); opens the form in a modal.
- Quick-answer buttons, side by side in one actions block: action id
  `quick_action_id(option)` (`inloop_quick:0`, `inloop_quick:1`, …: unique within the
  block, as Slack requires; `QUICK_ACTION` matches them, and the bare `inloop_quick` of
  messages posted before), value `quick_value(ref, option)`, read back as a `QuickAnswer`.
- `ACTION_WEB` url buttons: Slack opens the URL itself; the bot only acks the click.
- `ACTION_LINK` button (Open in browser in a channel): its value is the task's ref; the
  bot checks the clicker may answer, then gives them the web form's link privately.
- `CALLBACK_STEP` modals: `private_metadata` is `step_metadata(ref, step)`, read back as a
  `StepOf`; each input block is `field_block_id(name)`, its element's action id
  `VALUE_ACTION`.

The readers are pydantic models (strict, ValueError on anything else), so the bot's
envelope check (bot.envelope) and its listeners read a value the same way.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field

ACTION_OPEN = "inloop_open"
ACTION_QUICK = "inloop_quick"
QUICK_ACTION = re.compile(r"^inloop_quick(?::\d{1,2})?$")
ACTION_WEB = "inloop_web"
ACTION_LINK = "inloop_link"
CALLBACK_STEP = "inloop_step"
VALUE_ACTION = "value"
_FIELD_BLOCK = "f:"


class QuickAnswer(BaseModel):
    """A quick-answer button's value: answer task `ref` with its option number `option`."""

    model_config = ConfigDict(strict=True, frozen=True)

    ref: str = Field(alias="t")
    option: int = Field(alias="o")


class StepOf(BaseModel):
    """A step modal's `private_metadata`: which task, which step (0-based)."""

    model_config = ConfigDict(strict=True, frozen=True)

    ref: str
    step: int = Field(ge=0)


def quick_action_id(option: int) -> str:
    """The action id of the quick-answer button of option number `option` (0-based)."""
    return f"{ACTION_QUICK}:{option}"


def is_quick(action_id: str) -> bool:
    return QUICK_ACTION.match(action_id) is not None


def quick_value(ref: str, option: int) -> str:
    """The value of the quick-answer button of option number `option` (0-based)."""
    return json.dumps({"t": ref, "o": option}, separators=(",", ":"))


def step_metadata(ref: str, step: int) -> str:
    """The `private_metadata` of the modal of step `step` (0-based)."""
    return json.dumps({"ref": ref, "step": step})


def field_block_id(name: str) -> str:
    """The `block_id` of a field's input block (Slack reports errors per block)."""
    return _FIELD_BLOCK + name
