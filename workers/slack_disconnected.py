"""`slack.disconnected`: an org's Slack installation went (the app was uninstalled, its
bot token revoked, or an admin disconnected it), so its open tasks that go to Slack
(pending, or claimed by a team's approver: in_progress) get no more Slack messages or
updates. Each records that as a delivery problem, shown on the task
(`delivery_problems`); the task stays answerable at its web link."""

from __future__ import annotations

from api.domain.task import OPEN_STATUSES, Task
from api.runtime import Services
from api.store.listing import Filters
from workers.context import services
from workers.slack_delivery import record_problem

CODE = "slack_disconnected"
PAGE = 200


def run(org_id: str, reason: str) -> str:
    told = sum(_tell(services(), org_id, status, reason) for status in OPEN_STATUSES)
    return f"{told} open Slack tasks told"


def _tell(found: Services, org_id: str, status: str, reason: str) -> int:
    """Tell the org's tasks in `status` (pending, or claimed: in_progress) that go to Slack."""
    cursor: str | None = None
    told = 0
    while True:
        tasks, cursor = found.listing.page(org_id, Filters(status=status), limit=PAGE,
                                           cursor=cursor)
        for task in filter(goes_to_slack, tasks):
            record_problem(found.store, task.ref, CODE,
                           f"Slack is no longer connected: {reason}.")
            told += 1
        if cursor is None:
            return told


def goes_to_slack(task: Task) -> bool:
    return bool(task.external_message_ids or task.slack_channel or task.assignee_email)
