"""`slack.disconnected`: an org's Slack installation went (the app was uninstalled, its
bot token revoked, or an admin disconnected it), so its pending tasks that go to Slack
get no more Slack messages or updates. Each records that as a delivery problem, shown on
the task (`delivery_problems`); the task stays answerable at its web link."""

from __future__ import annotations

from api.domain.task import Task
from api.store.listing import Filters
from workers.context import services
from workers.slack_delivery import record_problem

CODE = "slack_disconnected"
PAGE = 200


def run(org_id: str, reason: str) -> str:
    found = services()
    cursor: str | None = None
    told = 0
    while True:
        tasks, cursor = found.listing.page(org_id, Filters(status="pending"), limit=PAGE,
                                           cursor=cursor)
        for task in filter(goes_to_slack, tasks):
            record_problem(found.store, task.ref, CODE,
                           f"Slack is no longer connected: {reason}.")
            told += 1
        if cursor is None:
            return f"{told} pending Slack tasks told"


def goes_to_slack(task: Task) -> bool:
    return bool(task.external_message_ids or task.slack_channel or task.assignee_email)
