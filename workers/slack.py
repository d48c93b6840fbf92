"""Slack jobs (queue "slack"): post a new task, update its messages once it ended."""

from __future__ import annotations

from bot.clients import web_client
from bot.delivery import Delivery
from workers.context import services


def _delivery() -> Delivery:
    found = services()
    return Delivery(found, web_client(found.settings))


def deliver(task_id: str) -> str:
    return _delivery().deliver(task_id)


def update_messages(task_id: str) -> str:
    return _delivery().update_messages(task_id)
