"""The App Home tab: the Slack user's pending tasks, newest first, each with Open."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from api.domain.errors import NotFound
from api.domain.task import Task
from api.runtime import Services
from api.store.slack import SlackState
from renderers.slack_home import home_view


def register(app: AsyncApp, services: Services) -> None:
    app.event("app_home_opened")(partial(publish_home, services))


async def publish_home(services: Services, event: dict[str, Any],
                       client: AsyncWebClient) -> None:
    if event.get("tab", "home") != "home":
        return  # the Messages tab
    tasks = await asyncio.to_thread(pending_tasks, services, event["user"])
    await client.views_publish(user_id=event["user"], view=home_view(tasks))


def pending_tasks(services: Services, user_id: str) -> list[Task]:
    """The user's open tasks (pending, or claimed); ended or deleted ones leave the
    user's index."""
    state = SlackState(services.redis)
    pending: list[Task] = []
    gone: list[str] = []
    for ref in state.user_task_refs(user_id):
        task = _load(services, ref)
        if task is not None and task.open:
            pending.append(task)
        else:
            gone.append(ref)
    state.forget_tasks(user_id, gone)
    return pending


def _load(services: Services, ref: str) -> Task | None:
    try:
        return services.store.load(ref)
    except NotFound:
        return None
