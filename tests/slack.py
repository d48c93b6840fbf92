"""Slack test rig shared by the bot's tests and the Slack delivery jobs' tests (a plugin
listed in tests/conftest.py): the Web API stub with its users and channel, settings
pointing at it, and helpers that post a task and run the Slack jobs.

A test module (or conftest) using the stub overrides `settings` with `slack_settings`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from slack_bolt.lazy_listener.async_internals import to_runnable_function

from api.settings import Settings
from tests.slack_stub import APP_TOKEN, TOKEN, SlackStub

SECRET = "test-signing-secret"
ASSIGNEE = ("U0ADA", "ada@example.com", "ada")
OTHER = ("U0BOB", "bob@example.com", "bob")
CHANNEL = ("ops", "C0OPS")
Poster = Callable[..., Awaitable[str]]


@pytest.fixture
def slack_stub() -> Iterator[SlackStub]:
    stub = SlackStub()
    for user in (ASSIGNEE, OTHER):
        stub.add_user(*user)
    stub.channels[CHANNEL[0]] = CHANNEL[1]
    stub.members[CHANNEL[1]] = [ASSIGNEE[0], OTHER[0]]
    stub.not_joined.add(CHANNEL[1])  # public: posted with chat:write.public, never joined
    stub.start()
    yield stub
    stub.stop()


@pytest.fixture
def slack_settings(redis_url: str, tmp_path: Path, slack_stub: SlackStub) -> Settings:
    return Settings(redis_url=redis_url, data_dir=tmp_path / "data",
                    base_url="http://inloop.test", allow_private_webhooks=True,
                    sink_retry_schedule=[1, 1, 1], slack_bot_token=TOKEN,
                    slack_signing_secret=SECRET, slack_api_url=slack_stub.url,
                    slack_app_token=APP_TOKEN)


@pytest.fixture
def jobs(run_jobs: Callable[..., int]) -> Callable[[], Awaitable[int]]:
    """Run queued Slack jobs (in the main thread: RQ installs signal handlers); first let
    listeners still running after their ack finish."""

    async def run() -> int:
        await lazy_listeners_done()
        return run_jobs(("slack",))

    return run


async def lazy_listeners_done(timeout: float = 10) -> None:
    """Until the lazy listeners Bolt started after earlier acks have ended: Bolt runs each
    as an asyncio task of `to_runnable_function`, started before its ack is answered."""
    deadline = time.monotonic() + timeout
    while any(_is_lazy_listener(task) for task in asyncio.all_tasks()):
        assert time.monotonic() < deadline, "a lazy listener is still running"
        await asyncio.sleep(0.01)


def _is_lazy_listener(task: asyncio.Task[Any]) -> bool:
    return not task.done() and \
        getattr(task.get_coro(), "__qualname__", "") == to_runnable_function.__qualname__


@pytest.fixture
def post_task(client: TestClient, account: Any, jobs: Callable[[], Awaitable[int]]) -> Poster:
    """Create a task over the API, run the Slack delivery job; the task's ref (what Slack
    values, the store and jobs name it by; `account.ref`)."""

    async def post(body: dict[str, Any], **extra: Any) -> str:
        response = await client.post("/api/v1/tasks", json={**body, **extra},
                                     headers=account.headers)
        created = await response.json()
        assert response.status == 201, created
        await jobs()
        return str(account.ref(created["task_id"]))

    return post


def quick_task(**extra: Any) -> dict[str, Any]:
    field = {"name": "decision", "label": "Decision", "kind": "select", "required": True,
             "options": ["Approve", "Reject"]}
    return {"title": "Ship it?", "steps": [{"id": "s", "title": "Decide",
                                           "blocks": [{"type": "input", "field": field}]}],
            **extra}
