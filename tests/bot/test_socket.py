"""Socket Mode (bot/socket.py) over a real WebSocket served by the Slack stub, configured
the way a Socket Mode deployment is: bot and app tokens, no signing secret."""

from __future__ import annotations

import asyncio

import pytest

from api.runtime import Services
from api.settings import Settings
from bot.socket import run_socket_mode
from renderers.slack_ids import ACTION_OPEN
from tests.bot.conftest import TEAM, fill, until
from tests.fixtures import example
from tests.slack import ASSIGNEE, Poster
from tests.slack_stub import SlackStub


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"slack_signing_secret": None})


async def test_tokens_without_a_signing_secret_still_deliver(
        post_task: Poster, slack_stub: SlackStub, services: Services) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    (posted,) = slack_stub.of("chat.postMessage")
    assert posted.args["channel"] == "D" + ASSIGNEE[0]
    assert len(services.store.load(task_id).external_message_ids) == 1


async def test_socket_mode_opens_and_submits(post_task: Poster, slack_stub: SlackStub,
                                             services: Services) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    runner = asyncio.create_task(run_socket_mode(services))
    try:
        await until(lambda: bool(slack_stub.sockets))
        user = {"id": ASSIGNEE[0], "name": "ada", "team_id": TEAM}
        slack_stub.send_envelope("interactive", {
            "type": "block_actions", "team": {"id": TEAM}, "user": user,
            "trigger_id": slack_stub.trigger(), "channel": {"id": "D" + ASSIGNEE[0]},
            "actions": [{"action_id": ACTION_OPEN, "value": task_id, "type": "button"}]})
        (opened,) = await slack_stub.wait_for("views.open")
        view = opened.args["view"]
        state = {"values": fill(view, {"decision": "Reject"})}
        sent = slack_stub.send_envelope("interactive", {
            "type": "view_submission", "team": {"id": TEAM}, "user": user,
            "view": {**view, "id": "V1", "state": state}})
        await until(lambda: any(a.get("envelope_id") == sent for a in slack_stub.acks))
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    task = services.store.load(task_id)
    assert task.status == "completed" and task.data == {"decision": "Reject"}
    assert len(slack_stub.acks) == 2  # both envelopes acknowledged
