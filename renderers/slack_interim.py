"""Modals shown before the form: "checking…" while the bot asks Slack who is in a large
channel (the click's 3 s trigger is spent on opening this at once, bot.listeners.actions),
then the form itself or, when the person may not answer, a note in its place."""

from __future__ import annotations

from typing import Any

from renderers.slack_blocks import plain, section

TITLE = "inloop"
CHECKING = "Checking that you may answer this task…"


def checking_view() -> dict[str, Any]:
    return note_view(CHECKING)


def note_view(text: str) -> dict[str, Any]:
    """A modal holding one mrkdwn note (already escaped) and a Close button."""
    return {"type": "modal", "title": plain(TITLE, 24), "close": plain("Close", 24),
            "blocks": [section(text[:3000])]}
