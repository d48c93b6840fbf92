"""Thread replies under a task's Slack messages (issue 12), then every message updated:
the `slack.notify` job, which the store enqueues with each reminder, reassignment and
escalation (progress notes after each response come with `slack.update`:
workers.slack_delivery).

- A reminder goes under the DM of each assignee still waiting, mentioning them, and
  under the channel message, mentioning everyone still waiting.
- A reassignment marks the old assignee's messages as moved ("Reassigned to Y by X"),
  posts the new assignee's DM (their notification) and replies under the old DM and the
  channel message; an escalation does the same for the people it adds or replaces.
- Each reply is settled once posted (Delivery.reply_once), so a retried job does not
  post it twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from rq import Retry

from api.domain.approval import Assignee, waiting_for
from api.domain.task import Task
from api.store.slack import SlackMessage
from renderers.slack_team import display_name, moved_note
from renderers.slack_threads import escalated_text, people, reassigned_text, reminder_text
from workers import slack
from workers.slack_delivery import Delivery

Replies = list[tuple[SlackMessage, str]]


def notify(ref: str, kind: str, detail: dict[str, Any]) -> str | Retry:
    """The `slack.notify` job: `kind` is "reminder", "reassigned" or "escalated"."""
    return slack.run_job(lambda d, r: Threads(d).notify(r, kind, detail), "slack.notify", ref)


class Threads:
    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.state = delivery.state

    def notify(self, ref: str, kind: str, detail: dict[str, Any]) -> str:
        task = self.delivery.store.load(ref)
        if not self.state.delivered(ref):  # not a Slack task (or Slack is off)
            return f"{kind}: the task is not in Slack"
        handlers: dict[str, Callable[[Task, dict[str, Any]], Replies]] = {
            "reminder": self._reminder, "reassigned": self._reassigned,
            "escalated": self._escalated}
        replies = handlers[kind](task, detail) if task.open else []
        token = hashlib.sha256(json.dumps(detail, sort_keys=True).encode()).hexdigest()[:16]
        posted = self._reply(task, replies, f"{kind}:{token}")
        if kind != "reminder":  # places moved: shown now, whichever job a worker runs first
            self.delivery.update_messages(ref)
        return f"{kind}: {posted} thread replies"

    def _reply(self, task: Task, replies: Replies, token: str) -> int:
        return sum(self.delivery.reply_once(task, message, text, token)
                   for message, text in replies)

    def _open_messages(self, task: Task) -> list[SlackMessage]:
        return [m for m in self.delivery.messages(task) if m.moved is None]

    def _reminder(self, task: Task, _detail: dict[str, Any]) -> Replies:
        waiting = {a.key: a for a in waiting_for(task)}
        users = self.state.slack_users(task.ref)
        everyone = self._people(list(waiting.values()), users)
        replies: Replies = []
        for message in self._open_messages(task):
            if message.assignee is None:
                replies.append((message, reminder_text(task, *everyone)))
            elif message.assignee in waiting and message.user:
                replies.append((message, reminder_text(task, [message.user])))
        return replies

    @staticmethod
    def _people(assignees: list[Assignee],
                users: dict[str, str]) -> tuple[list[str], list[str]]:
        """Slack user ids of the assignees Slack knows, names of the others."""
        return ([users[a.key] for a in assignees if a.key in users],
                [display_name(a) for a in assignees if a.key not in users])

    def _reassigned(self, task: Task, detail: dict[str, Any]) -> Replies:
        old, new = Assignee(**detail["from"]), Assignee(**detail["to"])
        by = (detail.get("by") or {}).get("name")
        moved = self._moved(task, [old], moved_note(display_name(new), by))
        self.delivery.deliver_new(task)
        who = people(*self._people([new], self.state.slack_users(task.ref)))
        text = reassigned_text(who, by, detail.get("reason"))
        channels = [m for m in self._open_messages(task) if m.assignee is None]
        return [(m, text) for m in moved + channels]

    def _escalated(self, task: Task, detail: dict[str, Any]) -> Replies:
        added = [Assignee(**a) for a in detail.get("added") or []]
        removed = [Assignee(**a) for a in detail.get("removed") or []]
        names = ", ".join(display_name(a) for a in added) or "others"
        moved = self._moved(task, removed, f"Escalated to {names}")
        self.delivery.deliver_new(task)
        who = people(*self._people(added, self.state.slack_users(task.ref)))
        fresh = {a.key for a in added}
        return [(m, escalated_text(who)) for m in moved + self._open_messages(task)
                if m.assignee not in fresh]

    def _moved(self, task: Task, gone: list[Assignee], note: str) -> list[SlackMessage]:
        """Mark the messages of assignees no longer in the task as moved; those messages."""
        current = {a.key for a in task.assignees}
        keys = {a.key for a in gone} - current
        for key in keys:
            self.state.mark_moved(task.ref, key, note)
        return [m for m in self.delivery.messages(task) if m.assignee in keys]
