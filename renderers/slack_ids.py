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
- Team tasks (issue 12): `ACTION_CLAIM` and `ACTION_RELEASE` buttons carry the task's ref;
  the `ACTION_MENU` overflow's options carry `menu_value(ref, choice)`, read back as a
  `MenuChoice` (`MENU_REASSIGN` opens the reassign modal). `CALLBACK_REASSIGN` modals:
  `private_metadata` is `reassign_metadata(ref)`, read back as a `ReassignOf`; the person
  is picked in block `REASSIGN_TO` (a users_select, action id `VALUE_ACTION`), the optional
  reason typed in block `REASSIGN_REASON`.

The readers are pydantic models (strict, ValueError on anything else), so the bot's
envelope check (bot.envelope) and its listeners read a value the same way.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ACTION_OPEN = "inloop_open"
ACTION_QUICK = "inloop_quick"
QUICK_ACTION = re.compile(r"^inloop_quick(?::\d{1,2})?$")
ACTION_WEB = "inloop_web"
ACTION_LINK = "inloop_link"
CALLBACK_STEP = "inloop_step"
VALUE_ACTION = "value"
_FIELD_BLOCK = "f:"
ACTION_CLAIM = "inloop_claim"
ACTION_RELEASE = "inloop_release"
ACTION_MENU = "inloop_menu"
MENU_REASSIGN = "reassign"
CALLBACK_REASSIGN = "inloop_reassign"
REASSIGN_TO = "reassign_to"
REASSIGN_REASON = "reassign_reason"


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


class MenuChoice(BaseModel):
    """An overflow menu option's value: do `choice` to task `ref`."""

    model_config = ConfigDict(strict=True, frozen=True)

    ref: str = Field(alias="t")
    choice: Literal["reassign"] = Field(alias="do")


class ReassignOf(BaseModel):
    """The reassign modal's `private_metadata`: which task."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    ref: str = Field(alias="reassign")


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


def menu_value(ref: str, choice: str) -> str:
    """The value of an overflow menu option (at most 150 characters: a ref is 36)."""
    return json.dumps({"t": ref, "do": choice}, separators=(",", ":"))


def reassign_metadata(ref: str) -> str:
    return json.dumps({"reassign": ref})


def field_block_id(name: str) -> str:
    """The `block_id` of a field's input block (Slack reports errors per block)."""
    return _FIELD_BLOCK + name
