"""RQ job `slack.notify`: tell a team task's Slack threads about a reminder, an escalation
or a reassignment (`kind`, with `detail` as api.store.approvals writes it). The message
updates themselves are `slack.update`'s; the Slack side of this job is the Slack
integration's to write (threads under each assignee's message, mentions)."""

from __future__ import annotations

from typing import Any

from workers.context import services


def notify(ref: str, kind: str, detail: dict[str, Any]) -> str:
    task = services().store.load(ref)
    if not task.open or not task.external_message_ids:
        return "nothing to notify"
    return f"{kind}: not posted (no Slack rendering yet)"
