"""The public names the bot dispatches on."""

from __future__ import annotations

import renderers.slack as slack
from tests.renderers.slack_limits import assert_slack_limits


def test_ids_are_the_agreed_strings() -> None:
    assert (slack.ACTION_OPEN, slack.ACTION_QUICK, slack.ACTION_WEB, slack.CALLBACK_STEP) == (
        "inloop_open", "inloop_quick", "inloop_web", "inloop_step")
    assert slack.VALUE_ACTION == "value" and slack.field_block_id("a_b") == "f:a_b"


def test_every_exported_name_exists() -> None:
    assert all(hasattr(slack, name) for name in slack.__all__)


def test_notice_blocks() -> None:
    blocks = slack.notice_blocks("Already answered by *Zoë*")
    assert blocks == [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": "Already answered by *Zoë*"}]}]
    assert_slack_limits({"text": "x", "blocks": blocks})
