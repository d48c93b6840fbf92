"""Delivery jobs (workers/slack_delivery.py, workers/slack.py) against the Slack stub."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from rq import Queue

from api import logs
from api.domain.task import CompletedBy
from api.runtime import Services
from api.settings import Settings
from bot.clients import web_client
from tests.conftest import Account
from tests.fixtures import example
from tests.slack import ASSIGNEE, CHANNEL, Poster, quick_task
from tests.slack_stub import TOKEN, SlackStub
from workers.slack_delivery import Delivery

Jobs = Callable[[], Awaitable[int]]


@pytest.fixture
def settings(slack_settings: Settings) -> Settings:
    return slack_settings  # the bot token and Web API URL of tests/slack.py's stub


async def _public(client: TestClient, account: Account) -> dict[str, Any]:
    """The org's one task, as the API shows it."""
    response = await client.get("/api/v1/tasks", headers=account.headers)
    [task] = (await response.json())["tasks"]
    found: dict[str, Any] = task
    return found


def _has_buttons(message: dict[str, Any]) -> bool:
    return any(b["type"] == "actions" for b in message["blocks"] or [])


async def test_dm_to_assignee_is_recorded(post_task: Poster, slack_stub: SlackStub,
                                          client: TestClient, account: Account) -> None:
    await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    assert slack_stub.of("users.lookupByEmail")[0].args["email"] == ASSIGNEE[1]
    assert slack_stub.of("conversations.open")[0].args["users"] == ASSIGNEE[0]
    posted = slack_stub.of("chat.postMessage")
    assert len(posted) == 1 and posted[0].args["channel"] == "D" + ASSIGNEE[0]
    (channel, ts), = slack_stub.messages
    task = await _public(client, account)
    assert task["external_message_ids"] == [{"provider": "slack", "channel": channel, "ts": ts}]
    assert task["delivery_problems"] == [] and task["status"] == "pending"


async def test_channel_post_and_assignee_dm_both_sent_once(
        post_task: Poster, slack_stub: SlackStub, services: Services, jobs: Jobs) -> None:
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1], slack_channel="ops")
    channels = sorted(c.args["channel"] for c in slack_stub.of("chat.postMessage"))
    assert channels == ["D" + ASSIGNEE[0], "ops"]
    assert {m.channel for m in services.store.load(task_id).external_message_ids} == {
        "D" + ASSIGNEE[0], CHANNEL[1]}
    # the job running again (an RQ retry) posts nothing twice
    with services.redis.pipeline() as pipe:
        services.jobs.enqueue(pipe, "slack.deliver", task_id)
        pipe.execute()
    await jobs()
    assert len(slack_stub.of("chat.postMessage")) == 2


async def test_unknown_slack_user_is_a_visible_problem(post_task: Poster, slack_stub: SlackStub,
                                                       client: TestClient,
                                                       account: Account) -> None:
    await post_task(example("hpi_approval"), assignee_email="carol@example.com")
    task = await _public(client, account)
    assert task["status"] == "pending" and task["url"].startswith("http://inloop.test/t/")
    assert [p["code"] for p in task["delivery_problems"]] == ["slack_user_not_found"]
    assert "carol@example.com" in task["delivery_problems"][0]["message"]
    assert not slack_stub.of("chat.postMessage")


async def test_unknown_channel_is_a_visible_problem(post_task: Poster, client: TestClient,
                                                    account: Account) -> None:
    await post_task(example("hpi_approval"), slack_channel="nowhere")
    task = await _public(client, account)
    assert task["status"] == "pending"
    assert [p["code"] for p in task["delivery_problems"]] == ["slack_channel_not_found"]


async def test_a_slack_jobs_log_lines_name_the_task(post_task: Poster) -> None:
    """INLOOP_LOG_FORMAT=json: what a Slack job logs carries the task's task_id and corr_id."""
    out, logger = io.StringIO(), logging.getLogger("workers")
    json_lines = logs.handler("json", out)
    logger.addHandler(json_lines)
    try:
        await post_task(example("hpi_approval"), slack_channel="nowhere", corr_id="deploy-42")
    finally:
        logger.removeHandler(json_lines)
    [line] = [json.loads(text) for text in out.getvalue().splitlines()
              if "Slack delivery" in text]
    assert line["corr_id"] == "deploy-42" and line["task_id"]


async def test_revoked_token_is_a_visible_problem(post_task: Poster, slack_stub: SlackStub,
                                                  client: TestClient, account: Account) -> None:
    slack_stub.tokens.clear()  # Slack no longer takes the bot token
    await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1],
                              slack_channel="ops")
    task = await _public(client, account)
    assert task["status"] == "pending" and task["external_message_ids"] == []
    assert [p["code"] for p in task["delivery_problems"]] == ["slack_auth_failed"] * 2


async def test_rate_limit_waits_retry_after(post_task: Poster, slack_stub: SlackStub,
                                            services: Services) -> None:
    slack_stub.rate_limit("chat.postMessage", 1)
    task_id = await post_task(example("hpi_approval"), slack_channel="ops")
    first, second = slack_stub.of("chat.postMessage")
    assert second.at - first.at >= 1.0
    assert len(services.store.load(task_id).external_message_ids) == 1


async def test_cancel_updates_every_message(post_task: Poster, slack_stub: SlackStub,
                                            client: TestClient, account: Account,
                                            services: Services, jobs: Jobs) -> None:
    ref = await post_task(quick_task(), assignee_email=ASSIGNEE[1], slack_channel="ops")
    task_id = services.store.load(ref).task_id
    response = await client.post(f"/api/v1/tasks/{task_id}/cancel",
                                 json={"reason": "not needed"}, headers=account.headers)
    assert response.status == 200
    await jobs()
    updated = slack_stub.of("chat.update")
    assert len(updated) == 2
    for message in slack_stub.messages.values():
        assert "cancel" in message["text"].lower() and not _has_buttons(message)
    assert {(c.args["channel"], c.args["ts"]) for c in updated} == set(slack_stub.messages)


async def test_expiry_updates_the_message(post_task: Poster, slack_stub: SlackStub,
                                          services: Services, jobs: Jobs) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1],
                              expires_in=60)
    later = services.store.clock() + timedelta(seconds=61)
    services.store.clock = lambda: later
    assert services.store.load(task_id).status == "failed"
    await jobs()
    (message,) = slack_stub.messages.values()
    assert not _has_buttons(message) and len(slack_stub.of("chat.update")) == 1


async def test_completion_via_api_updates_message(post_task: Poster, slack_stub: SlackStub,
                                                  services: Services, jobs: Jobs) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    task = services.store.load(task_id)
    services.tasks.complete(task, {"decision": "Reject"}, CompletedBy(channel="api", id="m",
                                                                       name="Grace"))
    await jobs()
    (message,) = slack_stub.messages.values()
    text = str(message["blocks"])
    assert "Grace" in text and "Reject" in text and not _has_buttons(message)


async def test_task_ended_before_delivery_is_not_posted(
        post_task: Poster, slack_stub: SlackStub, services: Services, client: TestClient,
        account: Account, jobs: Jobs) -> None:
    response = await client.post("/api/v1/tasks", headers=account.headers,
                                 json={**example("hpi_approval"), "slack_channel": "ops"})
    task_id = (await response.json())["task_id"]
    # completed before the delivery job ran: nothing is posted at all
    services.store.cancel(account.ref(task_id), "changed my mind")
    started = time.monotonic()
    await jobs()
    assert not slack_stub.of("chat.postMessage") and time.monotonic() - started < 5


async def test_a_lasting_problem_is_recorded_once_across_retries(
        post_task: Poster, slack_stub: SlackStub, services: Services) -> None:
    slack_stub.rate_limit("chat.postMessage", 0, 0, 0)  # more 429s than the client retries
    task_id = await post_task(quick_task(), assignee_email="carol@example.com",
                              slack_channel="ops")
    assert not slack_stub.messages  # the channel post failed: RQ retries the job
    Delivery(services, web_client(services.settings, TOKEN)).deliver(task_id)  # the retry
    task = services.store.load(task_id)
    assert [p.code for p in task.delivery_problems] == ["slack_user_not_found"]
    assert len(slack_stub.of("users.lookupByEmail")) == 1
    assert len(task.external_message_ids) == 1 and len(slack_stub.messages) == 1


def _due_now(queue: Queue) -> int:
    """Run RQ's scheduled retries now (no scheduler in tests): how many were waiting."""
    registry = queue.scheduled_job_registry
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        job = queue.fetch_job(job_id)
        assert job is not None
        registry.remove(job)
        queue.enqueue_job(job)
    return len(job_ids)


async def test_a_refused_message_is_a_visible_problem(
        post_task: Poster, slack_stub: SlackStub, services: Services) -> None:
    slack_stub.failing["chat.postMessage"] = "msg_too_long"
    task_id = await post_task(quick_task(), slack_channel="ops")
    problems = services.store.load(task_id).delivery_problems
    assert [(p.code, p.message) for p in problems] == [
        ("slack_message_rejected", "Slack refused the task's message (msg_too_long).")]
    assert not _due_now(services.jobs["slack"])  # nothing left to retry


async def test_an_error_that_outlasts_rq_retries_is_a_visible_problem(
        post_task: Poster, slack_stub: SlackStub, services: Services, jobs: Jobs) -> None:
    slack_stub.failing["chat.postMessage"] = "fatal_error"  # worth retrying, at first
    task_id = await post_task(quick_task(), slack_channel="ops")
    queue = services.jobs["slack"]
    for _ in range(3):  # the schedule's retries, each failing the same way
        assert not services.store.load(task_id).delivery_problems
        assert _due_now(queue) == 1
        await jobs()
    assert not _due_now(queue)
    (problem,) = services.store.load(task_id).delivery_problems
    assert problem.code == "slack_delivery_failed"
    assert problem.message == "Slack could not post the task: Slack answered fatal_error."
    assert len(slack_stub.of("chat.postMessage")) == 4


async def test_a_lasting_rate_limit_is_retried_after_retry_after(
        post_task: Poster, slack_stub: SlackStub, services: Services, jobs: Jobs) -> None:
    slack_stub.rate_limit("chat.postMessage", 0, 0, 7)  # the client retries twice itself
    started = time.time()
    task_id = await post_task(quick_task(), slack_channel="ops")
    registry = services.jobs["slack"].scheduled_job_registry
    (job_id,) = registry.get_job_ids()
    assert registry.get_scheduled_time(job_id).timestamp() >= started + 7
    _due_now(services.jobs["slack"])
    await jobs()
    task = services.store.load(task_id)
    assert len(task.external_message_ids) == 1 and not task.delivery_problems


async def test_a_rate_limit_that_never_ends_is_a_visible_problem(
        post_task: Poster, slack_stub: SlackStub, services: Services, jobs: Jobs) -> None:
    slack_stub.rate_limit("chat.postMessage", *[0] * 12)  # 3 calls per run, 4 runs
    task_id = await post_task(quick_task(), slack_channel="ops")
    while _due_now(services.jobs["slack"]):
        await jobs()
    task = services.store.load(task_id)
    assert [p.code for p in task.delivery_problems] == ["slack_rate_limited"]
    assert len(slack_stub.of("chat.postMessage")) == 12 and not task.external_message_ids
